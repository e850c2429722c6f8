import Domain
import Foundation

/// A webhook endpoint's URL, checked as text: `http` or `https`, a host, no credentials, at most 2048 characters.
/// (Where it may connect to is the ``Egress`` policy's decision, on its resolved addresses.)
public struct WebhookURL: Sendable, Equatable {
    public let text: String
    public let endpoint: Endpoint

    public static let maximumLength = 2048

    public init(parsing text: String) throws(WebhookURLError) {
        guard text.unicodeScalars.count <= Self.maximumLength else { throw WebhookURLError("is longer than \(Self.maximumLength) characters") }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " }),
            let components = URLComponents(string: text), let scheme = components.scheme?.lowercased()
        else { throw WebhookURLError("is not a URL") }
        guard scheme == "https" || scheme == "http" else { throw WebhookURLError("must be an http or https URL") }
        guard components.user == nil, components.password == nil else {
            throw WebhookURLError("must not carry credentials: authenticate the request by its signature")
        }
        guard var host = components.host?.lowercased(), !host.isEmpty else { throw WebhookURLError("has no host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard host.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-.:".unicodeScalars.contains($0)) })
        else { throw WebhookURLError("has a host that is not a DNS name or an address") }
        if let port = components.port, !(1...65535).contains(port) { throw WebhookURLError("has a port out of range") }
        guard components.fragment == nil else { throw WebhookURLError("must not have a #fragment") }
        self.text = text
        self.endpoint = Endpoint(scheme: scheme, host: host, port: components.port)
    }
}

public struct WebhookURLError: Error, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
