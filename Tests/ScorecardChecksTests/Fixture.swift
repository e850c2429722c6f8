import Foundation
import Scorecard
import ScorecardChecks

/// A fixture tree written into a fresh temporary folder, removed when the test ends.
final class Fixture {
    let root: URL

    init(_ files: [String: String] = [:]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("scorecard-fixture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for (path, text) in files { try write(path, Data(text.utf8)) }
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func write(_ path: String, _ data: Data, executable: Bool = false) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
        if executable {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        }
    }

    func context(osv: URL? = nil) throws -> CheckContext { try CheckContext(root: root, osvDirectory: osv) }

    func run(_ check: any Check) throws -> ScorecardReport.Check { check.run(try context()) }
}
