import Foundation
import Scorecard

/// One file-based Scorecard check: the same name, risk and 0–10 scoring rules as the official check of that name
/// (OpenSSF Scorecard's docs/checks.md), run offline on a local clone.
public protocol Check: Sendable {
    /// The official check name, e.g. `Binary-Artifacts`.
    var name: String { get }
    /// The short description the official CLI prints for this check.
    var shortDescription: String { get }
    /// Runs the check. Never throws: an unexpected failure becomes score -1 with a reason starting `internal error:`.
    func run(_ context: CheckContext) -> ScorecardReport.Check
}

extension Check {
    /// The documentation block of the JSON result (the official URL, pointing at `main` since no commit is pinned).
    public var documentation: ScorecardReport.Documentation {
        ScorecardReport.Documentation(
            short: shortDescription,
            url: "https://github.com/ossf/scorecard/blob/main/docs/checks.md#\(name.lowercased())"
        )
    }

    /// The check's risk in the aggregate (nil only for a name the official table does not know).
    public var risk: ScorecardRisk? { ScorecardRisk.byCheck[name] }

    /// A result with the given score and reason and the collected detail lines.
    func result(_ score: Int, _ reason: String, _ details: Details) -> ScorecardReport.Check {
        ScorecardReport.Check(
            name: name, score: score, reason: reason,
            details: details.lines.isEmpty ? nil : details.lines, documentation: documentation
        )
    }

    /// An inconclusive result (-1), as the official `CreateInconclusiveResult`.
    func inconclusive(_ reason: String, _ details: Details) -> ScorecardReport.Check {
        result(-1, reason, details)
    }

    /// A runtime-error result: score -1 with a reason starting `internal error:`, which makes the command exit 1.
    func internalError(_ message: String, _ details: Details = Details()) -> ScorecardReport.Check {
        result(-1, "internal error: \(message)", details)
    }
}

/// The detail lines of one check, in the official `Warn: …` / `Info: …` / `Debug: …` form.
public struct Details: Sendable, Equatable {
    /// The lines the result prints, in the order they were logged: warnings and information. The official CLI
    /// prints debug lines only at `--verbosity=debug`, never at its default, so they are kept apart.
    public private(set) var lines: [String] = []
    /// The debug lines, in the order they were logged (not printed).
    public private(set) var debugLines: [String] = []

    /// Empty details.
    public init() {}

    /// Logs a warning (something that lowered the score).
    public mutating func warn(_ text: String, at location: Location? = nil) { add("Warn", text, location) }
    /// Logs an informational line (something that kept the score).
    public mutating func info(_ text: String, at location: Location? = nil) { add("Info", text, location) }
    /// Logs a debug line.
    public mutating func debug(_ text: String, at location: Location? = nil) { add("Debug", text, location) }

    private mutating func add(_ level: String, _ text: String, _ location: Location?) {
        let line = location.map { "\(level): \(text): \($0)" } ?? "\(level): \(text)"
        if level == "Debug" {
            debugLines.append(line)
        } else {
            lines.append(line)
        }
    }
}

/// A place in the clone, printed `path:line` as the official CLI does (line 0 when the whole file is meant).
public struct Location: Sendable, Equatable, CustomStringConvertible {
    /// The path relative to the clone's root, with `/` separators.
    public var path: String
    /// 1-based line, or 0 for the whole file.
    public var line: Int

    /// A location in `path` at `line` (0: the whole file).
    public init(_ path: String, line: Int = 0) {
        self.path = path
        self.line = line
    }

    public var description: String { "\(path):\(line)" }
}

/// The checks the bundled command knows, in the official output order (alphabetical).
public enum Checks {
    /// Every file-based check of the official CLI's local mode.
    public static let all: [any Check] = [
        BinaryArtifactsCheck(),
        DangerousWorkflowCheck(),
        DependencyUpdateToolCheck(),
        FuzzingCheck(),
        LicenseCheck(),
        PackagingCheck(),
        PinnedDependenciesCheck(),
        SASTCheck(),
        SecurityPolicyCheck(),
        TokenPermissionsCheck(),
        VulnerabilitiesCheck(),
    ]

    /// The check called `name`, compared case-insensitively as the official CLI does; nil when unknown.
    public static func named(_ name: String) -> (any Check)? {
        all.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
    }
}
