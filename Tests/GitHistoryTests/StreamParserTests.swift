import Foundation
import GitFixtures
import Testing

@testable import GitHistory

@Suite("Streamed git output")
struct StreamParserTests {
    /// The records of real `git log` output are the same however the pipe cuts it: whole, byte by byte, in
    /// seeded random pieces.
    @Test("git log records do not depend on how the output arrives")
    func logChunking() async throws {
        let fixture = try await TwoYears.shared.value
        let shas = try await git(["rev-list", "--max-count=400", "HEAD"], in: fixture.full)
        let output = try await gitBytes(
            ["log", "--no-walk=unsorted", "--stdin", "--numstat", "-z", "--diff-merges=off",
             "--format=%x1e%H%x00%P%x00%an%x00%ae%x00%at%x00%ct%x00%B%x00"],
            in: fixture.full, input: Array(shas.utf8))
        func parse(pieces: [Int]) throws -> [String: CommitRecord] {
            var stream = GitLogStream()
            var offset = 0
            var index = 0
            try output.withUnsafeBytes { bytes in
                while offset < bytes.count {
                    let size = min(pieces[index % pieces.count], bytes.count - offset)
                    try stream.consume(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + size)]))
                    offset += size
                    index += 1
                }
            }
            return try stream.finish()
        }
        let whole = try parse(pieces: [output.count])
        #expect(whole.count == 400)
        #expect(whole.values.contains { ($0.stats?.filesChanged ?? 0) > 1 })
        var generator = SeededGenerator(seed: 10)
        let random = (0..<500).map { _ in Int(generator.next() % 300) + 1 }
        #expect(try parse(pieces: [1]) == whole)
        #expect(try parse(pieces: [4096]) == whole)
        #expect(try parse(pieces: random) == whole)
    }

    @Test("cat-file parents do not depend on how the output arrives")
    func catFileChunking() async throws {
        let fixture = try await TwoYears.shared.value
        let shas = try await git(["rev-list", "--max-count=50", "HEAD"], in: fixture.full)
        let output = try await gitBytes(["cat-file", "--batch"], in: fixture.full, input: Array(shas.utf8))
        let truth = String(decoding: try await gitBytes(
            ["log", "--format=%H %P", "--no-walk=unsorted", "--stdin"], in: fixture.full, input: Array(shas.utf8)),
            as: UTF8.self)
        var expected: [String: [String]] = [:]
        for line in truth.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            expected[fields[0]] = Array(fields.dropFirst())
        }
        #expect(expected.count == 50)
        for size in [1, 3, 100, output.count] {
            var stream = CatFileParentsStream()
            try output.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let end = min(offset + size, bytes.count)
                    try stream.consume(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
                    offset = end
                }
            }
            #expect(stream.finish() == expected, "pieces of \(size) bytes")
        }
    }

    @Test("a summary longer than the limit is cut before the character that does not fit")
    func summaryLimit() {
        for (scalar, width) in [("a", 1), ("\u{E9}", 2), ("\u{20AC}", 3), ("\u{1F600}", 4)] {
            let message = Array((String(repeating: scalar, count: 3000) + "\nbody").utf8)
            let summary = message.withUnsafeBufferPointer { RepositoryLayout.summary(ofMessage: $0) }
            #expect(summary == String(repeating: scalar, count: RepositoryLayout.summaryLimit / width))
        }
    }
}
