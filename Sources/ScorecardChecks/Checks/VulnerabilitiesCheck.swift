import Foundation
import Scorecard

/// Vulnerabilities: 10 minus one point per known vulnerability affecting the project's locked dependencies
/// (minimum 0). The official CLI asks the OSV service over the network; offline there is no database, so the
/// result is -1 ("inconclusive: no vulnerability database offline") unless a local folder of OSV JSON records is
/// configured (`--osv-dir` or `REPOWATCH_SCORECARD_OSV_DIR`). Then the packages locked in `Package.resolved`
/// (SwiftURL), `package-lock.json` (npm), `go.sum` (Go) and `Cargo.lock` (crates.io) are matched against the
/// records' `affected` entries: listed `versions`, or `SEMVER`/`ECOSYSTEM` ranges (`introduced`/`fixed`/
/// `last_affected`), compared as dotted numbers.
public struct VulnerabilitiesCheck: Check {
    public let name = "Vulnerabilities"
    public let shortDescription = "Determines if the project has open, known unfixed vulnerabilities."

    /// A check with the official rules.
    public init() {}

    /// A locked dependency.
    struct Package: Hashable {
        let ecosystem: String
        let name: String
        let version: String
    }

    public func run(_ context: CheckContext) -> ScorecardReport.Check {
        var details = Details()
        guard let osv = context.osvDirectory else {
            details.warn("no vulnerability database offline: set --osv-dir or \(ScorecardRun.osvEnvironmentVariable) to a folder of OSV JSON records")
            return inconclusive("inconclusive: no vulnerability database offline", details)
        }
        let records: [OSVRecord]
        do {
            records = try OSVRecord.load(from: osv)
        } catch {
            return internalError("reading OSV folder \(osv.path): \(error)")
        }
        let packages = Self.lockedPackages(context)
        details.debug("\(packages.count) locked packages, \(records.count) OSV records")
        var ids: [String] = []
        for record in records {
            let hits = packages.filter { record.affects($0) }
            if let hit = hits.first {
                ids.append(record.id)
                details.warn("Project is vulnerable to: \(record.id) (\(hit.ecosystem) \(hit.name) \(hit.version))")
            }
        }
        return result(max(0, 10 - ids.count), "\(ids.count) existing vulnerabilities detected", details)
    }

    /// The lockfiles read, by file name.
    static let lockfileNames = ["Package.resolved", "package-lock.json", "go.sum", "Cargo.lock"]

    static func lockedPackages(_ context: CheckContext) -> Set<Package> {
        var packages: Set<Package> = []
        for file in lockfileNames.flatMap({ context.index.files(named: $0) }) {
            switch file.name {
            case "Package.resolved":
                guard let data = context.read(file.path),
                      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
                let pins = (object["pins"] as? [[String: Any]])
                    ?? ((object["object"] as? [String: Any])?["pins"] as? [[String: Any]]) ?? []
                for pin in pins {
                    guard let location = (pin["location"] ?? pin["repositoryURL"]) as? String,
                          let version = (pin["state"] as? [String: Any])?["version"] as? String else { continue }
                    var name = location
                    if name.hasSuffix(".git") { name.removeLast(4) }
                    name = name.replacingOccurrences(of: "https://", with: "")
                    packages.insert(Package(ecosystem: "SwiftURL", name: name, version: version))
                }
            case "package-lock.json":
                guard let data = context.read(file.path),
                      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
                for (key, value) in object["packages"] as? [String: Any] ?? [:] {
                    guard let range = key.range(of: "node_modules/", options: .backwards),
                          let version = (value as? [String: Any])?["version"] as? String else { continue }
                    packages.insert(Package(ecosystem: "npm", name: String(key[range.upperBound...]), version: version))
                }
                for (key, value) in object["dependencies"] as? [String: Any] ?? [:] {
                    if let version = (value as? [String: Any])?["version"] as? String {
                        packages.insert(Package(ecosystem: "npm", name: key, version: version))
                    }
                }
            case "go.sum":
                for line in (context.text(file.path) ?? "").split(whereSeparator: \.isNewline) {
                    let words = line.split(separator: " ")
                    guard words.count >= 2 else { continue }
                    let version = words[1].replacingOccurrences(of: "/go.mod", with: "")
                    packages.insert(Package(ecosystem: "Go", name: String(words[0]), version: version))
                }
            case "Cargo.lock":
                var name: String?
                for line in (context.text(file.path) ?? "").split(whereSeparator: \.isNewline) {
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    if trimmed == "[[package]]" { name = nil }
                    if trimmed.hasPrefix("name = ") { name = trimmed.dropFirst(7).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                    if trimmed.hasPrefix("version = "), let current = name {
                        let version = trimmed.dropFirst(10).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                        packages.insert(Package(ecosystem: "crates.io", name: current, version: version))
                    }
                }
            default:
                continue
            }
        }
        return packages
    }
}

/// The part of an OSV record the check reads.
struct OSVRecord: Decodable {
    struct Affected: Decodable {
        struct PackageID: Decodable {
            let ecosystem: String
            let name: String
        }
        struct Range: Decodable {
            struct Event: Decodable {
                let introduced: String?
                let fixed: String?
                let last_affected: String?
            }
            let type: String
            let events: [Event]
        }
        let package: PackageID?
        let versions: [String]?
        let ranges: [Range]?
    }

    let id: String
    let affected: [Affected]?

    /// Every `*.json` record under `folder` (recursively, links not followed, 1 MiB per file); files that are not
    /// OSV records are skipped.
    static func load(from folder: URL) throws -> [OSVRecord] {
        let context = try CheckContext(root: folder, maxFiles: 1_000_000)
        let decoder = JSONDecoder()
        return context.index.files(withExtensions: ["json"]).compactMap { file in
            context.read(file.path).flatMap { try? decoder.decode(OSVRecord.self, from: $0) }
        }
    }

    func affects(_ package: VulnerabilitiesCheck.Package) -> Bool {
        for entry in affected ?? [] {
            guard let id = entry.package, id.ecosystem == package.ecosystem else { continue }
            let sameName = package.ecosystem == "SwiftURL"
                ? id.name.lowercased().replacingOccurrences(of: "https://", with: "").replacingOccurrences(of: ".git", with: "")
                    == package.name.lowercased()
                : id.name == package.name
            guard sameName else { continue }
            let version = package.version.hasPrefix("v") ? String(package.version.dropFirst()) : package.version
            if entry.versions?.contains(where: { $0 == package.version || $0 == version }) ?? false { return true }
            for range in entry.ranges ?? [] where range.type == "SEMVER" || range.type == "ECOSYSTEM" {
                if Self.inRange(version, range.events) { return true }
            }
        }
        return false
    }

    /// OSV's event semantics: affected from an `introduced` up to (not including) the next `fixed`, or up to and
    /// including `last_affected`.
    static func inRange(_ version: String, _ events: [Affected.Range.Event]) -> Bool {
        var affected = false
        let sorted = events.sorted { a, b in
            compare(a.introduced ?? a.fixed ?? a.last_affected ?? "0", b.introduced ?? b.fixed ?? b.last_affected ?? "0") < 0
        }
        for event in sorted {
            if let introduced = event.introduced, compare(version, introduced == "0" ? "0" : introduced) >= 0 { affected = true }
            if let fixed = event.fixed, compare(version, fixed) >= 0 { affected = false }
            if let last = event.last_affected, compare(version, last) > 0 { affected = false }
        }
        return affected
    }

    /// Compares dotted versions numerically (a `v` prefix and pre-release suffixes ignored; missing parts are 0).
    static func compare(_ a: String, _ b: String) -> Int {
        func parts(_ s: String) -> [Int] {
            let core = (s.hasPrefix("v") ? String(s.dropFirst()) : s).split(whereSeparator: { $0 == "-" || $0 == "+" }).first ?? ""
            return core.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
        }
        let x = parts(a), y = parts(b)
        for index in 0..<max(x.count, y.count) {
            let l = index < x.count ? x[index] : 0, r = index < y.count ? y[index] : 0
            if l != r { return l < r ? -1 : 1 }
        }
        return 0
    }
}
