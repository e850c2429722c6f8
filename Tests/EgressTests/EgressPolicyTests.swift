import Domain
import Egress
import Synchronization
import Testing

/// The egress policy decides on what a name resolves to at the moment of the connection, and pins the connection to
/// the addresses it checked. The resolver is given fixed answers here (what a DNS server, or an attacker rebinding a
/// name, would answer); the system resolver is exercised through git in IngestionTests and GitTransportTests.
struct EgressPolicyTests {
    /// A resolver whose answers a test changes between calls, counting the calls.
    final class Resolver: Sendable {
        let answers: Mutex<[String: [String]]>
        let calls = Mutex(0)
        init(_ answers: [String: [String]]) { self.answers = Mutex(answers) }
        func set(_ host: String, _ addresses: [String]) { answers.withLock { $0[host] = addresses } }
        var resolve: @Sendable (String) async -> [String] {
            { host in
                self.calls.withLock { $0 += 1 }
                return self.answers.withLock { $0[host] ?? [] }
            }
        }
    }

    func url(_ text: String) throws -> RepositoryURL { try RepositoryURL(parsing: text) }

    @Test("A public name is allowed and pinned to every address it resolved to")
    func publicNameIsPinned() async throws {
        let resolver = Resolver(["github.com": ["140.82.121.4", "2606:50c0:8000::154"]])
        let policy = EgressPolicy(hosts: try HostPolicy(allowedHosts: ["github.com"]), resolve: resolver.resolve)
        let permit = try await policy.authorize(try url("https://github.com/ossf/scorecard"))
        #expect(permit.addresses == ["140.82.121.4", "2606:50c0:8000::154"])
        #expect(permit.curlResolveEntries == ["github.com:443:140.82.121.4,[2606:50c0:8000::154]"])
        #expect(resolver.calls.withLock { $0 } == 1)
    }

    @Test("A name rebound to a private address is refused at the next connection, whatever it resolved to before")
    func reboundNameIsRefused() async throws {
        let resolver = Resolver(["git.example.com": ["93.184.216.34"]])
        let policy = EgressPolicy(hosts: try HostPolicy(allowedHosts: ["git.example.com"]), resolve: resolver.resolve)
        let target = try url("https://git.example.com/team/project")
        _ = try await policy.authorize(target)
        for address in ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fd00::1", "100.64.0.1", "0.0.0.0", "::ffff:192.168.1.1"] {
            // One private address among public ones is enough to refuse: curl may pick any of them.
            resolver.set("git.example.com", ["93.184.216.34", address])
            let error = await #expect(throws: RepositoryURLError.self) { try await policy.authorize(target) }
            #expect(error?.code == .privateAddress, "\(address)")
            #expect(error?.message.contains(address) == true)
        }
    }

    @Test("A host listed as internal may resolve to private addresses, and is pinned to them")
    func internalHostIsAllowed() async throws {
        let resolver = Resolver(["git.corp": ["10.0.0.7"]])
        let policy = EgressPolicy(hosts: try HostPolicy(allowedHosts: [], internalHosts: ["git.corp:8443"]), resolve: resolver.resolve)
        let permit = try await policy.authorize(try url("https://git.corp:8443/team/project"))
        #expect(permit.curlResolveEntries == ["git.corp:8443:10.0.0.7"])
        // The entry is for that port only.
        let error = await #expect(throws: RepositoryURLError.self) { try await policy.authorize(try url("https://git.corp/team/project")) }
        #expect(error?.code == .hostNotAllowed)
    }

    @Test("A host off the allowlist is refused without being resolved; a name without addresses is unresolved")
    func refusedBeforeResolvingAndUnresolved() async throws {
        let resolver = Resolver([:])
        let policy = EgressPolicy(hosts: try HostPolicy(allowedHosts: ["gitlab.com"]), resolve: resolver.resolve)
        let error = await #expect(throws: RepositoryURLError.self) { try await policy.authorize(try url("https://evil.example/a/b")) }
        #expect(error?.code == .hostNotAllowed)
        #expect(resolver.calls.withLock { $0 } == 0, "nothing is asked of DNS for a host that is not allowed")
        let unresolved = await #expect(throws: RepositoryURLError.self) { try await policy.authorize(try url("https://gitlab.com/a/b")) }
        #expect(unresolved?.code == .unresolved)
    }

    @Test("An address literal is judged by the allowlist alone and needs no pin")
    func literalNeedsNoPin() async throws {
        let resolver = Resolver([:])
        let policy = EgressPolicy(hosts: try HostPolicy(allowedHosts: ["127.0.0.1:8080"]), resolve: resolver.resolve)
        let permit = try await policy.authorize(try url("http://127.0.0.1:8080/a/b.git"))
        #expect(permit.addresses.isEmpty && permit.curlResolveEntries.isEmpty)
        let error = await #expect(throws: RepositoryURLError.self) { try await policy.authorize(try url("http://127.0.0.1:9090/a/b.git")) }
        #expect(error?.code == .privateAddress)
        #expect(resolver.calls.withLock { $0 } == 0)
    }

    @Test("The system resolver answers for localhost with a loopback address")
    func systemResolver() async {
        let addresses = await AddressResolver.addresses(of: "localhost")
        #expect(addresses.contains("127.0.0.1") || addresses.contains("::1"), "\(addresses)")
        #expect(await AddressResolver.addresses(of: "no-such-host.invalid").isEmpty)
    }
}
