import Foundation

/// A repository URL in its one canonical form.
///
/// Many users may watch one repository; they reach it through many spellings of its URL
/// (`https://GitHub.com/Apple/Swift.git/`, `git@github.com:apple/swift`, `ssh://git@github.com/apple/swift`).
/// All of them canonicalise to one value, and the store keeps one repository row per canonical URL.
///
/// Rules, in order:
/// - accepted forms: `https://host[:port]/path`, `http://host[:port]/path`, `ssh://[git@]host[:port]/path`
///   and the scp-like `[git@]host:path`; anything else is refused;
/// - embedded credentials (`https://user:token@host/…`, or any user but `git` for ssh) are refused, never stored;
/// - the host is lower-cased; the path is lower-cased too on hosts whose paths are case-insensitive
///   (GitHub, GitLab, Bitbucket, Codeberg by default);
/// - query and fragment are dropped; a trailing slash and a `.git` suffix are dropped;
/// - ssh forms become `https` (we clone over HTTPS, where a token travels in a header); `http` on a host
///   known to serve HTTPS is upgraded; `http` elsewhere stays (self-hosted servers, the test git server);
/// - a default port (443 for https, 80 for http, 22 for ssh) is dropped; another port is kept.
public struct RepositoryURL: Sendable, Hashable, CustomStringConvertible {
    /// `https` or `http`.
    public let scheme: String
    /// Lower-cased host name or IP literal (IPv6 without brackets).
    public let host: String
    /// Port, when it is not the scheme's default.
    public let port: Int?
    /// Every path segment but the last: `apple`, or `group/subgroup` on GitLab.
    public let owner: String
    /// The last path segment, without `.git`.
    public let name: String

    /// The canonical URL, e.g. `https://github.com/apple/swift`.
    public var canonical: String {
        "\(scheme)://\(hostWithPort)/\(owner)/\(name)"
    }

    /// `host` or `host:port`, with IPv6 literals bracketed: what an allowlist entry is compared with.
    public var hostWithPort: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port.map { "\(h):\($0)" } ?? h
    }

    public var description: String { canonical }

    /// The longest URL accepted, in characters (Unicode scalars).
    public static let maximumLength = 2048

    /// Parses and canonicalises `input`.
    /// - Parameters:
    ///   - input: what the user typed.
    ///   - caseInsensitiveHosts: hosts whose paths are compared without case (lower-cased).
    ///   - httpsHosts: hosts known to serve HTTPS, so that `http://` is upgraded.
    public init(
        parsing input: String,
        caseInsensitiveHosts: Set<String> = RepositoryURL.defaultCaseInsensitiveHosts,
        httpsHosts: Set<String> = RepositoryURL.defaultCaseInsensitiveHosts
    ) throws(RepositoryURLError) {
        // Counted before trimming and in Unicode scalars, as JSON Schema's maxLength counts.
        guard input.unicodeScalars.count <= Self.maximumLength else {
            throw .init(.tooLong, "repo_url is longer than \(Self.maximumLength) characters")
        }
        let trimmed = input.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw .init(.empty, "repo_url is empty") }
        guard trimmed.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value != 0x7F }) else {
            throw .init(.invalid, "repo_url must be ASCII without spaces or control characters")
        }

        var scheme: String
        var authority: Substring
        var path: Substring
        if let range = trimmed.range(of: "://") {
            scheme = trimmed[..<range.lowerBound].lowercased()
            let rest = trimmed[range.upperBound...]
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            authority = rest[..<slash]
            path = rest[slash...]
        } else if let colon = trimmed.firstIndex(of: ":"), !trimmed[..<colon].contains("/") {
            // scp-like syntax: [user@]host:path — git reads it as ssh.
            scheme = "scp"
            authority = trimmed[..<colon]
            path = trimmed[trimmed.index(after: colon)...]
            if path.hasPrefix("//") {
                throw .init(.invalid, "repo_url is not a URL git understands")
            }
        } else {
            throw .init(.unsupportedScheme, "repo_url must be an https://, http:// or ssh-style git URL")
        }
        guard ["https", "http", "ssh", "scp"].contains(scheme) else {
            throw .init(.unsupportedScheme, "scheme '\(scheme)' is not supported; use https, http or ssh")
        }

        // Drop query and fragment.
        if let cut = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<cut] }
        if let at = authority.lastIndex(of: "@") {
            let userinfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let isSSH = scheme == "ssh" || scheme == "scp"
            if !isSSH || userinfo != "git" {
                throw .init(.credentials, "repo_url must not contain credentials; pass a token separately")
            }
        }

        // Host and port.
        var host: String
        var port: Int?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .init(.invalid, "repo_url has an unterminated IPv6 address") }
            host = String(authority[authority.index(after: authority.startIndex)..<close]).lowercased()
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .init(.invalid, "repo_url has a malformed host") }
                port = try Self.parsePort(after.dropFirst())
            }
            guard IPAddress(host) != nil, IPAddress(host)?.isV6 == true else {
                throw .init(.invalid, "repo_url has a malformed IPv6 address")
            }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw .init(.invalid, "repo_url has a malformed host") }
            host = parts[0].lowercased()
            if parts.count == 2 {
                if scheme == "scp" { throw .init(.invalid, "repo_url has a malformed host") }
                port = try Self.parsePort(parts[1])
            }
            guard Self.isValidHostName(host) else { throw .init(.invalid, "repo_url has an invalid host '\(host)'") }
        }

        let defaultPort: Int
        switch scheme {
        case "http": defaultPort = 80
        case "https": defaultPort = 443
        default: defaultPort = 22
        }
        if port == defaultPort { port = nil }
        if scheme == "ssh" || scheme == "scp" {
            // An ssh port says nothing about the HTTPS port.
            port = nil
            scheme = "https"
        } else if scheme == "http" && httpsHosts.contains(host) && port == nil {
            scheme = "https"
        }

        // Path: segments, `.git` suffix and trailing slashes dropped.
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        while segments.first == "" { segments.removeFirst() }
        while segments.last == "" { segments.removeLast() }
        if var last = segments.last, last.lowercased().hasSuffix(".git") {
            last.removeLast(4)
            segments[segments.count - 1] = last
        }
        guard segments.count >= 2 else {
            throw .init(.invalid, "repo_url must name a repository as /owner/name")
        }
        for segment in segments {
            guard Self.isValidSegment(segment) else {
                throw .init(.invalid, "repo_url has an invalid path segment '\(segment)'")
            }
        }
        if Self.twoSegmentHosts.contains(host) && segments.count != 2 {
            throw .init(.invalid, "a \(host) repository URL is https://\(host)/owner/name")
        }
        if caseInsensitiveHosts.contains(host) {
            segments = segments.map { $0.lowercased() }
        }

        self.scheme = scheme
        self.host = host
        self.port = port
        self.name = segments.removeLast()
        self.owner = segments.joined(separator: "/")
    }

    /// Rebuilds a URL from parts that were canonical when stored (the store's columns).
    public init(stored scheme: String, host: String, port: Int?, owner: String, name: String) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.owner = owner
        self.name = name
    }

    /// Hosts whose paths compare without case, and which serve HTTPS.
    public static let defaultCaseInsensitiveHosts: Set<String> = ["github.com", "gitlab.com", "bitbucket.org", "codeberg.org"]
    /// Hosts where a repository is always exactly `/owner/name` (GitLab has nested groups).
    static let twoSegmentHosts: Set<String> = ["github.com", "bitbucket.org", "codeberg.org"]

    private static func parsePort(_ text: Substring) throws(RepositoryURLError) -> Int {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy(\.isASCIIDigit), let value = Int(text), (1...65535).contains(value) else {
            throw .init(.invalid, "repo_url has an invalid port")
        }
        return value
    }

    private static func isValidHostName(_ host: String) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 253 else { return false }
        if IPAddress(host) != nil { return true }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCIILetterOrDigit || $0 == "-" }
        }
    }

    private static func isValidSegment(_ segment: String) -> Bool {
        guard !segment.isEmpty, segment.count <= 100, segment != ".", segment != ".." else { return false }
        return segment.allSatisfy { $0.isASCIILetterOrDigit || $0 == "-" || $0 == "_" || $0 == "." }
    }
}

/// Why a repository URL was refused. `code` is stable and is what API clients match on.
public struct RepositoryURLError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let empty = Code(rawValue: "empty")
        public static let tooLong = Code(rawValue: "too_long")
        public static let invalid = Code(rawValue: "invalid")
        public static let unsupportedScheme = Code(rawValue: "unsupported_scheme")
        public static let credentials = Code(rawValue: "credentials_in_url")
        public static let hostNotAllowed = Code(rawValue: "host_not_allowed")
        public static let privateAddress = Code(rawValue: "private_address")
        /// The host name resolved to no address when a fetch was about to start (worth retrying later).
        public static let unresolved = Code(rawValue: "unresolved")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isASCIILetterOrDigit: Bool { isASCII && (isLetter || isNumber) }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
