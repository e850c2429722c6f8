import Foundation

/// Which hosts repositories may be fetched from (configuration keys `repos.allowed_hosts` and
/// `repos.internal_hosts`), judged on the URL when an entry is added and again on the resolved addresses before
/// every fetch.
///
/// An entry is `host` (any port of the URL's scheme default, i.e. no explicit port) or `host:port`
/// (exactly that port); IPv6 literals are written bracketed, `[::1]:8080`. Only listed hosts are
/// accepted. Loopback, private, link-local and unspecified addresses are refused with their own
/// error (`private_address`) unless allowed explicitly: an address literal by listing it verbatim (a test server
/// on 127.0.0.1 is allowed only by listing `127.0.0.1:PORT`), a host name by listing it in `repos.internal_hosts`
/// (a name that resolves to such an address — a company's git server, or a public name rebound to 127.0.0.1 by an
/// attacker — is refused otherwise).
public struct HostPolicy: Sendable, Equatable {
    /// Normalised entries (`host` or `host:port`, lower-case).
    public let entries: Set<String>
    /// Entries whose names may resolve to loopback or private addresses (allowed too, as if in ``entries``).
    public let internalEntries: Set<String>
    /// True when any host is allowed as long as its addresses are public (webhook endpoints); the entries then only
    /// matter as ``internalEntries``, the exceptions for private addresses.
    public let allowsAnyPublicHost: Bool

    public static let defaultHosts = ["github.com", "gitlab.com", "bitbucket.org", "codeberg.org"]

    public init(allowedHosts: [String], internalHosts: [String] = []) throws(RepositoryURLError) {
        entries = try Self.normalised(allowedHosts)
        internalEntries = try Self.normalised(internalHosts)
        allowsAnyPublicHost = false
    }

    /// Any host whose addresses are public, and `internalHosts` (`host`, `host:port`, an address literal) whatever
    /// they resolve to: what webhook endpoints may be.
    public init(anyPublicHostAnd internalHosts: [String]) throws(RepositoryURLError) {
        entries = []
        internalEntries = try Self.normalised(internalHosts)
        allowsAnyPublicHost = true
    }

    private static func normalised(_ hosts: [String]) throws(RepositoryURLError) -> Set<String> {
        var entries = Set<String>()
        for raw in hosts {
            let entry = raw.trimmingWhitespace().lowercased()
            guard !entry.isEmpty else { continue }
            guard Self.isValidEntry(entry) else {
                throw .init(.invalid, "'\(raw)' is not a host or host:port")
            }
            entries.insert(entry)
        }
        return entries
    }

    /// Throws unless `url`'s host (and port) is allowed, judged on the URL's text.
    public func check(_ url: RepositoryURL) throws(RepositoryURLError) {
        try check(url.endpoint)
    }

    /// Throws unless the endpoint's host (and port) is allowed, judged on its text.
    public func check(_ endpoint: Endpoint) throws(RepositoryURLError) {
        if entries.contains(endpoint.hostWithPort) || internalEntries.contains(endpoint.hostWithPort) { return }
        if let address = IPAddress(endpoint.host), !address.isPublic {
            throw .init(.privateAddress, "\(endpoint.hostWithPort) is a loopback or private address; list it in \(listName) to allow it")
        }
        if allowsAnyPublicHost { return }
        throw .init(.hostNotAllowed, "host \(endpoint.hostWithPort) is not in repos.allowed_hosts")
    }

    /// The setting that lists the exceptions, for messages.
    private var listName: String { allowsAnyPublicHost ? "webhooks.internal_hosts" : "repos.allowed_hosts" }

    /// Throws unless `url` is allowed (``check(_:)``) and, for a host name, none of `addresses` (what the name
    /// resolves to now, as text) is loopback, private, link-local or unspecified — unless the host is listed in
    /// `repos.internal_hosts`. A name that resolves to nothing is refused as `unresolved`.
    public func check(_ url: RepositoryURL, resolvedTo addresses: [String]) throws(RepositoryURLError) {
        try check(url.endpoint, resolvedTo: addresses)
    }

    /// ``check(_:resolvedTo:)`` for any endpoint.
    public func check(_ endpoint: Endpoint, resolvedTo addresses: [String]) throws(RepositoryURLError) {
        try check(endpoint)
        if IPAddress(endpoint.host) != nil { return }  // a literal: judged above, nothing was resolved
        if internalEntries.contains(endpoint.hostWithPort) { return }
        guard !addresses.isEmpty else { throw .init(.unresolved, "\(endpoint.host) does not resolve to any address") }
        let list = allowsAnyPublicHost ? "webhooks.internal_hosts" : "repos.internal_hosts"
        for text in addresses {
            guard let address = IPAddress(text), address.isPublic else {
                throw .init(.privateAddress, "\(endpoint.hostWithPort) resolves to \(text), a loopback or private address; list it in \(list) to allow it")
            }
        }
    }

    private static func isValidEntry(_ entry: String) -> Bool {
        var host = Substring(entry)
        var portText: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            guard IPAddress(String(host))?.isV6 == true else { return false }
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return false }
                portText = after.dropFirst()
            }
        } else {
            let parts = host.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return false }
            host = parts[0]
            if parts.count == 2 { portText = parts[1] }
            guard !host.isEmpty, host.allSatisfy({ $0.isASCIILetterOrDigit || $0 == "-" || $0 == "." }) else { return false }
        }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else { return false }
        }
        return true
    }
}

/// An IPv4 or IPv6 address literal, parsed just enough to classify it.
public struct IPAddress: Sendable, Equatable {
    /// 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]
    public var isV6: Bool { bytes.count == 16 }

    public init?(_ text: String) {
        if let v4 = Self.parseV4(Substring(text)) {
            bytes = v4
        } else if let v6 = Self.parseV6(text) {
            bytes = v6
        } else {
            return nil
        }
    }

    /// False for loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified and multicast addresses.
    public var isPublic: Bool {
        if bytes.count == 4 { return Self.isPublicV4(bytes) }
        // IPv4-mapped ::ffff:a.b.c.d
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return Self.isPublicV4(Array(bytes[12..<16]))
        }
        if bytes.allSatisfy({ $0 == 0 }) { return false }  // ::
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return false }  // ::1
        if bytes[0] & 0xfe == 0xfc { return false }  // fc00::/7 unique local
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return false }  // fe80::/10 link local
        if bytes[0] == 0xff { return false }  // multicast
        return true
    }

    private static func isPublicV4(_ b: [UInt8]) -> Bool {
        switch (b[0], b[1]) {
        case (0, _), (10, _), (127, _): return false
        case (100, 64...127): return false  // CGNAT
        case (169, 254): return false
        case (172, 16...31): return false
        case (192, 168): return false
        case (224...255, _): return false  // multicast and reserved
        default: return true
        }
    }

    private static func parseV4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCIIDigit), let v = UInt8(part) else { return nil }
            out.append(v)
        }
        return out
    }

    private static func parseV6(_ text: String) -> [UInt8]? {
        guard text.contains(":"), text.count <= 45 else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String) -> [UInt8]? {
            if s.isEmpty { return [] }
            var out: [UInt8] = []
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, part) in parts.enumerated() {
                if i == parts.count - 1, part.contains("."), let v4 = parseV4(part) {
                    out += v4
                    continue
                }
                guard !part.isEmpty, part.count <= 4, let v = UInt16(part, radix: 16) else { return nil }
                out += [UInt8(v >> 8), UInt8(v & 0xff)]
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count < 16 else { return nil }
        return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}

/// Where a connection goes: scheme, host (an IPv6 literal without brackets) and explicit port.
public struct Endpoint: Sendable, Equatable {
    public let scheme: String
    public let host: String
    public let port: Int?

    public init(scheme: String, host: String, port: Int?) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// `host` or `host:port`, IPv6 literals bracketed: what an allowlist entry is compared with.
    public var hostWithPort: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port.map { "\(h):\($0)" } ?? h
    }
}

extension RepositoryURL {
    public var endpoint: Endpoint { Endpoint(scheme: scheme, host: host, port: port) }
}
