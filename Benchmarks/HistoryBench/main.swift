// history-bench: times GitHistory's readers (walk + records of every commit) against `git log --numstat` on the same
// clones of a generated repository (10 000 commits over two years by default) or of a repository given by path.
//
//   swift build -c release --scratch-path .build-history --product history-bench
//   .build-history/release/history-bench [--commits 10000] [--runs 5] [--path /some/repo] [--batch 500]
import Foundation
import GitFixtures
import GitHistory

struct Options {
    var commits = 10_000
    var runs = 5
    var path: String?
    var batch = 500
    var keep = false

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--commits": commits = iterator.next().flatMap { Int($0) } ?? commits
            case "--runs": runs = iterator.next().flatMap { Int($0) } ?? runs
            case "--path": path = iterator.next()
            case "--batch": batch = iterator.next().flatMap { Int($0) } ?? batch
            case "--keep": keep = true
            default:
                print("usage: history-bench [--commits N] [--runs N] [--path REPO] [--batch N] [--keep]")
                exit(2)
            }
        }
    }
}

/// A thing to time, and how many commits it handled.
struct Variant {
    var label: String
    var body: () async throws -> Int
}

/// Runs the variants round-robin `runs` times (so that the load of a shared machine falls on all of them alike) and
/// returns per variant the best and median wall time in ms and the commits handled.
func measure(runs: Int, _ variants: [Variant]) async throws -> [(best: Double, median: Double, count: Int)] {
    var times = [[Double]](repeating: [], count: variants.count)
    var counts = [Int](repeating: 0, count: variants.count)
    for _ in 0..<runs {
        for (index, variant) in variants.enumerated() {
            let start = ContinuousClock.now
            counts[index] = try await variant.body()
            let elapsed = ContinuousClock.now - start
            times[index].append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        }
    }
    return times.indices.map { index in
        let sorted = times[index].sorted()
        return (sorted[0], sorted[sorted.count / 2], counts[index])
    }
}

func readAll(_ reader: any HistoryReader, _ repository: String, batch: Int) async throws -> Int {
    let walked = try await reader.walk(repository: repository, tip: nil, since: .distantPast, limit: Int.max, stop: [])
    var count = 0
    var index = 0
    while index < walked.count {
        let slice = Array(walked[index..<min(index + batch, walked.count)])
        count += try await reader.records(repository: repository, for: slice).count
        index += batch
    }
    return count
}

let options = Options(CommandLine.arguments)
let root = FileManager.default.temporaryDirectory.appendingPathComponent("history-bench-\(UUID().uuidString.prefix(8))")
try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
defer { if !options.keep { try? FileManager.default.removeItem(at: root) } }

let end = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
let source: URL
if let path = options.path {
    source = URL(fileURLWithPath: path)
} else {
    let start = ContinuousClock.now
    let generated = try await RepositoryGenerator.make(
        at: root.appendingPathComponent("source"), commits: options.commits,
        span: end.addingTimeInterval(-2 * 365 * 86_400)...end, seed: 2026, bare: true)
    print("generated \(generated.commitCount) commits (\(generated.mergeCount) merges) in \(ContinuousClock.now - start)")
    source = generated.path
}
let full = root.appendingPathComponent("full")
try await RepositoryGenerator.clone(of: source, into: full)
let fullBare = root.appendingPathComponent("full.git")
try await RepositoryGenerator.clone(of: source, into: fullBare, bare: true)
let shallow = root.appendingPathComponent("shallow")
try await RepositoryGenerator.shallowClone(of: source, into: shallow, since: end.addingTimeInterval(-365 * 86_400))

let cores = ProcessInfo.processInfo.activeProcessorCount
print("machine: \(cores) cores, \(ProcessInfo.processInfo.operatingSystemVersionString); runs: \(options.runs) (best | median ms); records in batches of \(options.batch)")
print("")
print("| clone | reader | commits | best ms | median ms | commits/s | ÷ git log |")
print("|---|---|---:|---:|---:|---:|---:|")
for (name, clone) in [("full", full), ("full, bare", fullBare), ("shallow 1 y", shallow)] {
    let path = clone.path
    let variants: [Variant] = [
        Variant(label: "`git log --numstat --format=%H`") {
            let output = try await gitBytes(["log", "--numstat", "--format=%H"], in: clone)
            return output.split(separator: 0x0A).filter { line in
                line.count == 40 && line.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
            }.count
        },
        Variant(label: "GitLogHistoryReader") { try await readAll(GitLogHistoryReader(), path, batch: options.batch) },
        Variant(label: "GitLogHistoryReader, one batch") { try await readAll(GitLogHistoryReader(), path, batch: Int.max) },
        Variant(label: "LibGit2HistoryReader, 1 thread") {
            try await readAll(LibGit2HistoryReader(parallelism: 1), path, batch: options.batch)
        },
        Variant(label: "LibGit2HistoryReader, \(cores) threads") {
            try await readAll(LibGit2HistoryReader(parallelism: cores), path, batch: options.batch)
        },
        Variant(label: "GitLogHistoryReader walk only") {
            try await GitLogHistoryReader().walk(repository: path, tip: nil, since: .distantPast, limit: Int.max, stop: []).count
        },
        Variant(label: "LibGit2HistoryReader walk only") {
            try await LibGit2HistoryReader().walk(repository: path, tip: nil, since: .distantPast, limit: Int.max, stop: []).count
        },
    ]
    let results = try await measure(runs: options.runs, variants)
    let baseline = results[0].best
    for (variant, result) in zip(variants, results) {
        let rate = result.best > 0 ? Int(Double(result.count) / result.best * 1000) : 0
        print("| \(name) | \(variant.label) | \(result.count) | \(Int(result.best)) | \(Int(result.median)) | \(rate) | \(String(format: "%.2f", result.best / baseline)) |")
    }
}
