import Domain
import Testing

@Suite("Repository URL canonicalisation")
struct RepositoryURLTests {
    /// Every spelling of one repository a user may paste, and the one canonical URL it must become.
    @Test(arguments: [
        ("https://github.com/apple/swift-nio", "https://github.com/apple/swift-nio"),
        ("https://GitHub.com/Apple/Swift-NIO.git", "https://github.com/apple/swift-nio"),
        ("https://github.com/apple/swift-nio/", "https://github.com/apple/swift-nio"),
        ("https://github.com/apple/swift-nio.git/", "https://github.com/apple/swift-nio"),
        ("https://github.com/apple/swift-nio?tab=readme#top", "https://github.com/apple/swift-nio"),
        ("http://github.com/apple/swift-nio", "https://github.com/apple/swift-nio"),
        ("https://github.com:443/apple/swift-nio", "https://github.com/apple/swift-nio"),
        ("git@github.com:apple/swift-nio.git", "https://github.com/apple/swift-nio"),
        ("git@GITHUB.COM:Apple/swift-nio", "https://github.com/apple/swift-nio"),
        ("ssh://git@github.com/apple/swift-nio.git", "https://github.com/apple/swift-nio"),
        ("ssh://git@github.com:22/apple/swift-nio", "https://github.com/apple/swift-nio"),
        ("  https://github.com/apple/swift-nio  ", "https://github.com/apple/swift-nio"),
        ("https://gitlab.com/Group/SubGroup/Project.git", "https://gitlab.com/group/subgroup/project"),
        // Hosts not known to be case-insensitive keep the path's case, and http stays http.
        ("http://git.example.org/Team/Repo.git", "http://git.example.org/Team/Repo"),
        ("http://127.0.0.1:8080/owner/repo.git", "http://127.0.0.1:8080/owner/repo"),
        ("http://[::1]:9000/owner/repo", "http://[::1]:9000/owner/repo"),
        ("https://git.example.org:8443/a/b", "https://git.example.org:8443/a/b"),
    ])
    func canonicalises(input: String, expected: String) throws {
        #expect(try RepositoryURL(parsing: input).canonical == expected)
    }

    @Test func splitsOwnerAndName() throws {
        let url = try RepositoryURL(parsing: "https://gitlab.com/group/sub/project")
        #expect(url.owner == "group/sub")
        #expect(url.name == "project")
        #expect(url.host == "gitlab.com")
        #expect(url.port == nil)
    }

    /// Inputs that must be refused, with the code a client can match on.
    @Test(arguments: [
        ("", RepositoryURLError.Code.empty),
        ("   ", .empty),
        ("github.com/apple/swift-nio", .unsupportedScheme),
        ("ftp://github.com/apple/swift-nio", .unsupportedScheme),
        ("file:///etc/passwd", .unsupportedScheme),
        ("https://user:secret@github.com/apple/swift-nio", .credentials),
        ("https://token@github.com/apple/swift-nio", .credentials),
        ("alice@github.com:apple/swift-nio", .credentials),
        ("ssh://alice:pw@github.com/apple/swift-nio", .credentials),
        ("https://github.com/apple", .invalid),
        ("https://github.com/", .invalid),
        ("https://github.com/apple/swift-nio/tree/main", .invalid),
        ("https://github.com/apple/../etc", .invalid),
        ("https://github.com/apple/sw%20ift", .invalid),
        ("https://github.com/apple/swift nio", .invalid),
        ("https://bad_host!/a/b", .invalid),
        ("https://github.com:0/a/b", .invalid),
        ("https://github.com:99999/a/b", .invalid),
        ("https://[::1/a/b", .invalid),
        ("https://gïthub.com/a/b", .invalid),
    ])
    func refuses(input: String, code: RepositoryURLError.Code) {
        #expect(throws: RepositoryURLError.self) { try RepositoryURL(parsing: input) }
        do {
            _ = try RepositoryURL(parsing: input)
        } catch {
            #expect(error.code == code, "\(input): \(error.message)")
        }
    }

    @Test func refusesOverlongURLs() {
        let long = "https://github.com/a/" + String(repeating: "b", count: 3000)
        #expect(throws: RepositoryURLError(.tooLong, "repo_url is longer than 2048 characters")) { try RepositoryURL(parsing: long) }
    }
}

@Suite("Host allowlist")
struct HostPolicyTests {
    @Test func defaultHostsAreAllowed() throws {
        let policy = try HostPolicy(allowedHosts: HostPolicy.defaultHosts)
        try policy.check(RepositoryURL(parsing: "https://github.com/a/b"))
        try policy.check(RepositoryURL(parsing: "git@codeberg.org:a/b"))
    }

    @Test(arguments: [
        ("https://example.com/a/b", RepositoryURLError.Code.hostNotAllowed),
        ("http://127.0.0.1/a/b", .privateAddress),
        ("http://10.1.2.3/a/b", .privateAddress),
        ("http://192.168.0.1/a/b", .privateAddress),
        ("http://172.20.0.1/a/b", .privateAddress),
        ("http://169.254.169.254/a/b", .privateAddress),
        ("http://[::1]/a/b", .privateAddress),
        ("http://[fd00::1]/a/b", .privateAddress),
        ("http://[::ffff:127.0.0.1]/a/b", .privateAddress),
        ("http://8.8.8.8/a/b", .hostNotAllowed),
        ("https://github.com:8443/a/b", .hostNotAllowed),
    ])
    func refusesUnlistedHosts(url: String, code: RepositoryURLError.Code) throws {
        let policy = try HostPolicy(allowedHosts: HostPolicy.defaultHosts)
        let parsed = try RepositoryURL(parsing: url)
        do {
            try policy.check(parsed)
            Issue.record("\(url) was allowed")
        } catch {
            #expect(error.code == code)
        }
    }

    @Test func listedLoopbackWithPortIsAllowed() throws {
        let policy = try HostPolicy(allowedHosts: ["127.0.0.1:8080", "[::1]:9000", "git.internal"])
        try policy.check(RepositoryURL(parsing: "http://127.0.0.1:8080/a/b"))
        try policy.check(RepositoryURL(parsing: "http://[::1]:9000/a/b"))
        try policy.check(RepositoryURL(parsing: "https://git.internal/a/b"))
        #expect(throws: RepositoryURLError.self) { try policy.check(RepositoryURL(parsing: "http://127.0.0.1:8081/a/b")) }
        #expect(throws: RepositoryURLError.self) { try policy.check(RepositoryURL(parsing: "http://127.0.0.1/a/b")) }
    }

    /// Before a fetch, a host name is judged by the addresses it resolves to now.
    @Test func namesAreJudgedByTheirResolvedAddresses() throws {
        func refusal(_ body: () throws -> Void) -> RepositoryURLError.Code? {
            do { try body() } catch let error as RepositoryURLError { return error.code } catch { return nil }
            return nil
        }
        let policy = try HostPolicy(allowedHosts: ["git.example.com", "127.0.0.1:8080"], internalHosts: ["git.corp:8443"])
        let named = try RepositoryURL(parsing: "https://git.example.com/a/b")
        #expect(refusal { try policy.check(named, resolvedTo: ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]) } == nil)
        for address in ["127.0.0.1", "10.0.0.5", "169.254.169.254", "::1", "fd12::1", "::ffff:192.168.1.1", "0.0.0.0"] {
            // One private address among public ones is enough: git could connect to any of them.
            #expect(refusal { try policy.check(named, resolvedTo: ["93.184.216.34", address]) } == .privateAddress, "\(address)")
        }
        #expect(refusal { try policy.check(named, resolvedTo: []) } == .unresolved)
        // An internal host (allowed by that list alone) may resolve to private addresses, on its listed port only.
        let corp = try RepositoryURL(parsing: "https://git.corp:8443/a/b")
        #expect(refusal { try policy.check(corp) } == nil)
        #expect(refusal { try policy.check(corp, resolvedTo: ["10.1.2.3"]) } == nil)
        let otherPort = try RepositoryURL(parsing: "https://git.corp/a/b")
        #expect(refusal { try policy.check(otherPort, resolvedTo: ["10.1.2.3"]) } == .hostNotAllowed)
        // An address literal listed verbatim needs no resolution.
        let literal = try RepositoryURL(parsing: "http://127.0.0.1:8080/a/b")
        #expect(refusal { try policy.check(literal, resolvedTo: []) } == nil)
    }

    @Test(arguments: ["exa mple.com", "host:port", "host:70000", "[zz::1]", "a:b:c"])
    func refusesMalformedEntries(entry: String) {
        #expect(throws: RepositoryURLError.self) { try HostPolicy(allowedHosts: [entry]) }
        #expect(throws: RepositoryURLError.self) { try HostPolicy(allowedHosts: [], internalHosts: [entry]) }
    }
}
