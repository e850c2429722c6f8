import Domain

/// The one gate every outgoing connection of the service passes before it is made: git's clone, fetch and
/// ls-remote today; webhooks and hosted APIs are to use it too.
///
/// It decides, at the moment of the connection (not when an entry was added):
/// 1. the host and port are on the allowlist (``HostPolicy``: `repos.allowed_hosts`, read now, so a host removed
///    from it is no longer fetched from);
/// 2. a host name is resolved (`getaddrinfo`, as the connecting program would) and every address it has now is
///    public — not loopback, private, link-local, unique-local, CGNAT or unspecified — unless the host is listed in
///    `repos.internal_hosts`;
/// 3. the connection is pinned to the addresses that were checked (``EgressPermit/curlResolveEntries``), so a
///    name rebound to a private address between the check and the connection is not followed.
///
/// What it refuses is a ``RepositoryURLError`` with the code `host_not_allowed` or `private_address` (permanent:
/// retrying cannot help) or `unresolved` (the name has no address now: a DNS outage passes, so it is transient).
/// Redirects are the connecting program's part: git runs with `http.followRedirects=false`.
public struct EgressPolicy: Sendable {
    /// The allowlist and the internal hosts.
    public let hosts: HostPolicy
    private let resolve: @Sendable (String) async -> [String]

    /// - Parameters:
    ///   - hosts: which hosts may be connected to, and which of them may resolve to private addresses.
    ///   - resolve: a host name's addresses as text (tests give fixed answers); the system resolver by default.
    public init(hosts: HostPolicy, resolve: @escaping @Sendable (String) async -> [String] = { await AddressResolver.addresses(of: $0) }) {
        self.hosts = hosts
        self.resolve = resolve
    }

    /// Checks a connection to `url` now and returns where it may go, or throws why it may not.
    public func authorize(_ url: RepositoryURL) async throws(RepositoryURLError) -> EgressPermit {
        try await authorize(url.endpoint)
    }

    /// Checks a connection to `endpoint` now (a webhook's URL) and returns where it may go, or throws why it may not.
    public func authorize(_ endpoint: Endpoint) async throws(RepositoryURLError) -> EgressPermit {
        try hosts.check(endpoint)
        let port = endpoint.port ?? Self.defaultPort(of: endpoint.scheme)
        // An address literal was judged by the allowlist alone (a private one is allowed only by listing it verbatim).
        if IPAddress(endpoint.host) != nil {
            return EgressPermit(host: endpoint.host, port: port, addresses: [], scheme: endpoint.scheme)
        }
        let addresses = await resolve(endpoint.host)
        try hosts.check(endpoint, resolvedTo: addresses)
        return EgressPermit(host: endpoint.host, port: port, addresses: addresses, scheme: endpoint.scheme)
    }

    static func defaultPort(of scheme: String) -> Int? {
        switch scheme {
        case "https": 443
        case "http": 80
        case "ssh": 22
        default: nil
        }
    }
}

/// A connection ``EgressPolicy`` allowed: the host, and the addresses it was judged by.
public struct EgressPermit: Sendable, Equatable {
    public let host: String
    public let port: Int?
    /// The resolved addresses that were checked; empty when the host is an address literal (nothing was resolved)
    /// or an internal host whose name did not resolve here.
    public let addresses: [String]
    let scheme: String

    /// curl's `CURLOPT_RESOLVE` entries (`host:port:addr[,addr…]`; git's `http.curloptResolve`) that make an HTTP(S)
    /// connection to the host use exactly the checked addresses. Empty when there is nothing to pin, and for
    /// schemes curl does not carry (over ssh the name is resolved again by ssh: not pinned).
    public var curlResolveEntries: [String] {
        guard scheme == "https" || scheme == "http", let port, !addresses.isEmpty else { return [] }
        let list = addresses.map { $0.contains(":") ? "[\($0)]" : $0 }.joined(separator: ",")
        return ["\(host):\(port):\(list)"]
    }
}
