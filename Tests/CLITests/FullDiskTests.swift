import Foundation
import GitFixtures
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10's fault-injection suite: the SQLite data folder on a filesystem that fills up (a small tmpfs mounted
/// by the test; CI runs as root). A write is refused with a clear 503 `storage_full`, reads go on, nothing is
/// half-written or corrupt, and writes work again once space is freed — without restarting the server.
@Suite("Full disk")
struct FullDiskTests {
    @Test func aFullDiskIsA503AndWritesResumeWhenSpaceReturns() async throws {
        try await HeavyTests.run {
            let scratch = URL(fileURLWithPath: CLITests.temporaryDirectory())
            let data = scratch.appendingPathComponent("data")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let (mounted, _, mountErrors) = try await ChildProcess.run(
                "/bin/mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", data.path], environment: ["PATH": "/usr/bin:/bin"])
            try #require(mounted == 0, "mounting a tmpfs needs root (CI runs as root): \(mountErrors)")
            defer { _ = umount2(data.path, Int32(MNT_DETACH)) }

            let port = try EndToEndTests.freePort()
            let server = try await ChildProcess.start(CLITests.binary, [
                "serve", "--data-dir", data.path, "--port", "\(port)", "--log-level", "info",
            ], environment: CLITests.environment([
                "REPOWATCH_ALLOWED_HOSTS": "127.0.0.1:9",
                "REPOWATCH_GIT_PROTOCOLS": "http",
                "REPOWATCH_GIT_CLONE_DIR": scratch.appendingPathComponent("clones").path,
            ]))
            #expect(await server.waitForOutput(containing: "listening on"), "\(server.stderr.suffix(2000))")
            let key = try #require(server.stdout.split(separator: "\n").map(String.init).first(where: CLITests.isKey))
            let base = "http://127.0.0.1:\(port)"
            func add(_ index: Int) async throws -> (Int, [String: Any]) {
                try await EndToEndTests.http(
                    "POST", "\(base)/v1/watchlist", key: key, json: #"{"repo_url": "http://127.0.0.1:9/fixtures/r\#(index)"}"#)
            }
            let (first, entry) = try await add(0)
            #expect(first == 202, "\(entry)")
            let id = try #require(entry["id"] as? String)

            // Fill the filesystem to the last byte.
            let filler = data.appendingPathComponent("filler")
            let fd = open(filler.path, O_CREAT | O_WRONLY, 0o600)
            try #require(fd >= 0)
            let block = [UInt8](repeating: 0xA5, count: 64 * 1024)
            var size = block.count
            while size > 0 {
                if write(fd, block, size) < 0 { size /= 2 }  // ENOSPC: smaller pieces, down to the last byte
            }
            close(fd)

            var refusals: [String: Int] = [:]
            for index in 1...5 {
                let (status, body) = try await add(index)
                let code = (body["error"] as? [String: Any])?["code"] as? String ?? "\(body)"
                refusals["\(status) \(code)", default: 0] += 1
            }
            #expect(refusals == ["503 storage_full": 5], "writes on a full disk: \(refusals)\n\(server.stderr.suffix(3000))")
            let (read, status) = try await EndToEndTests.http("GET", "\(base)/v1/watchlist/\(id)/status", key: key)
            #expect(read == 200, "reads go on while the disk is full: \(status)")

            // Space returns: the same server accepts writes again.
            try FileManager.default.removeItem(at: filler)
            var accepted = 0
            for index in 6...8 where try await add(index).0 == 202 { accepted += 1 }
            #expect(accepted == 3, "\(server.stderr.suffix(3000))")
            server.send(SIGTERM)
            #expect(await server.waitForExit() == 0, "\(server.stderr.suffix(2000))")

            // Nothing is corrupt, and exactly the accepted entries are there (none of the refused ones).
            let check = """
                import sqlite3, sys
                db = sqlite3.connect(sys.argv[1])
                print(db.execute("PRAGMA integrity_check").fetchone()[0])
                print(db.execute("SELECT COUNT(*) FROM watchlist_entries").fetchone()[0])
                """
            let (checked, output, checkErrors) = try await ChildProcess.run(
                "/usr/bin/env", ["python3", "-c", check, data.appendingPathComponent("repowatch.sqlite").path],
                environment: ProcessInfo.processInfo.environment)
            #expect(checked == 0, "\(checkErrors)")
            #expect(output.split(separator: "\n") == ["ok", "4"], "\(output)")
        }
    }
}
