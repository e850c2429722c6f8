import AsyncHTTPClient
import Domain
import Egress
import Foundation
import NIOCore
import NIOHTTP1

/// Sends one webhook request: through the ``EgressPolicy`` (the endpoint's addresses are checked now, and the
/// connection is pinned to them), with a connect timeout and a deadline over the whole exchange, no redirects
/// followed, and at most `maxResponseBytes` of the response read.
public struct WebhookSender: Sendable {
    /// The outcome of one attempt, as the delivery log shows it.
    public struct Outcome: Sendable, Equatable {
        /// The response's status; nil when none came (refused, unreachable, timed out).
        public var status: Int?
        public var latency: Duration
        /// Why the attempt failed; nil on a 2xx.
        public var error: String?
        /// True when retrying cannot help (the endpoint is not allowed to be connected to).
        public var permanent: Bool

        public var succeeded: Bool { error == nil }
    }

    let egress: EgressPolicy
    let timeout: Duration
    let connectTimeout: Duration
    let maxResponseBytes: Int
    let eventLoopGroup: any EventLoopGroup

    public init(
        egress: EgressPolicy, timeout: Duration, connectTimeout: Duration, maxResponseBytes: Int,
        eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup
    ) {
        self.egress = egress
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.maxResponseBytes = maxResponseBytes
        self.eventLoopGroup = eventLoopGroup
    }

    /// POSTs `body` (JSON) to `url` with `headers`.
    public func send(url: String, body: Data, headers: [(String, String)]) async -> Outcome {
        let started = ContinuousClock.now
        func outcome(_ status: Int?, _ error: String?, permanent: Bool = false) -> Outcome {
            Outcome(status: status, latency: ContinuousClock.now - started, error: error, permanent: permanent)
        }
        let endpoint: Endpoint
        do {
            endpoint = try WebhookURL(parsing: url).endpoint
        } catch {
            return outcome(nil, "invalid_url: the URL \(error.message)", permanent: true)
        }
        let permit: EgressPermit
        do {
            permit = try await egress.authorize(endpoint)
        } catch {
            // A name without an address may resolve again later; a private or disallowed address will not become public.
            return outcome(nil, "\(error.code.rawValue): \(error.message)", permanent: error.code != .unresolved)
        }
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .nanoseconds(connectTimeout.nanoseconds), read: .nanoseconds(timeout.nanoseconds)),
            decompression: .disabled)
        // Pinned: the connection goes to an address that was checked, whatever the name resolves to by then.
        if let address = permit.addresses.first { configuration.dnsOverride = [endpoint.host: address] }
        configuration.connectionPool = .init(idleTimeout: .seconds(1), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
        let client = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
        let result = await exchange(client, url: url, body: body, headers: headers) { outcome($0, $1) }
        try? await client.shutdown()
        return result
    }

    private func exchange(
        _ client: HTTPClient, url: String, body: Data, headers: [(String, String)], outcome: (Int?, String?) -> Outcome
    ) async -> Outcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "RepoWatch-Webhooks/1")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let (maxBytes, timeout, prepared) = (maxResponseBytes, timeout, request)
        do {
            let status = try await withThrowingTaskGroup(of: Int?.self) { group in
                group.addTask {
                    let response = try await client.execute(prepared, timeout: .nanoseconds(timeout.nanoseconds))
                    // Read at most maxBytes; the rest is left unread (the connection is then closed).
                    var read = 0
                    for try await chunk in response.body {
                        read += chunk.readableBytes
                        if read >= maxBytes { break }
                    }
                    return Int(response.status.code)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
            guard let status else { return outcome(nil, "timed_out: no complete answer within \(timeout) (webhooks.timeout)") }
            switch status {
            case 200..<300:
                return outcome(status, nil)
            case 300..<400:
                return outcome(status, "redirected: HTTP \(status); redirects are not followed, register the final URL")
            default:
                return outcome(status, "http_error: HTTP \(status)")
            }
        } catch let error as HTTPClientError where error == .connectTimeout || error == .readTimeout || error == .deadlineExceeded {
            return outcome(nil, "timed_out: \(error)")
        } catch {
            return outcome(nil, "unreachable: \(Self.describe(error))")
        }
    }

    /// A transport error in a few words (never the request, which carries the signature).
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
