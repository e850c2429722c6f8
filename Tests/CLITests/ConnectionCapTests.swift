import Foundation
import GitFixtures
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10: a cap on the connections one process serves (`http.max_connections`), with the real binary.
@Suite("Connection cap")
struct ConnectionCapTests {
    /// `http.max_connections` caps what one process serves: while that many connections are held open by
    /// clients that send nothing, a further request waits unanswered; it is answered once they go.
    @Test func connectionsPastTheCapWaitUntilOthersClose() async throws {
        try await HeavyTests.run {
            let scratch = URL(fileURLWithPath: CLITests.temporaryDirectory())
            defer { try? FileManager.default.removeItem(at: scratch) }
            let port = try EndToEndTests.freePort()
            let server = try await ChildProcess.start(CLITests.binary, ["serve", "--data-dir", scratch.path, "--port", "\(port)"],
                environment: CLITests.environment(["REPOWATCH_HTTP_MAX_CONNECTIONS": "8", "REPOWATCH_HTTP_IDLE_TIMEOUT": "120s"]))
            #expect(await server.waitForOutput(containing: "listening on"), "\(server.stderr.suffix(2000))")
            var idle: [Int32] = []
            defer { idle.forEach { close($0) } }
            for _ in 0..<8 { idle.append(try #require(LoopbackSocket.connect(port: port))) }
            // Let the server accept them all before the extra one arrives.
            try await Task.sleep(for: .milliseconds(500))
            let extra = try #require(LoopbackSocket.connect(port: port))
            defer { close(extra) }
            let request = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            _ = request.withCString { send(extra, $0, strlen($0), 0) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            var wait = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            let early = recv(extra, &buffer, buffer.count, 0)
            #expect(early < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
                    "answered past the cap (recv: \(early)): \(String(decoding: buffer.prefix(max(early, 0)), as: UTF8.self))")

            idle.forEach { close($0) }
            idle = []
            wait = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            let answered = recv(extra, &buffer, buffer.count, 0)
            #expect(answered > 0 && String(decoding: buffer.prefix(max(answered, 0)), as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            server.send(SIGTERM)
            #expect(await server.waitForExit() == 0)
        }
    }

}
