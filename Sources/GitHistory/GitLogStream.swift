import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Parses the output of `GitLogHistoryReader`'s `git log` call as it arrives, in chunks, keeping only what is
/// stored: memory is bounded by ``tokenLimit`` per field, not by the size of what a repository's author wrote.
///
/// The output is one record per commit: RS sha NUL parents NUL author name NUL e-mail NUL author time NUL
/// committer time NUL raw message NUL, then `-z`'s NUL, then the numstat lines ("added TAB deleted TAB path NUL",
/// or for a rename "added TAB deleted TAB NUL old NUL new NUL"), the first preceded by a newline.
///
/// Of each NUL-terminated token at most ``tokenLimit`` bytes are kept: the message is read only for its summary
/// (its first non-blank line, from the first ``RepositoryLayout/messagePrefixLimit`` bytes), numstat paths only
/// for whether they are empty, and a name or e-mail longer than the limit is cut there.
struct GitLogStream {
    /// The most bytes kept of one token.
    static let tokenLimit = RepositoryLayout.messagePrefixLimit

    /// The records parsed so far, keyed by sha (stats zero when git printed no numstat).
    private(set) var records: [String: CommitRecord] = [:]

    private enum State {
        /// Before the first record, or after a record's header: numstat lines or the next record.
        case body
        /// Collecting the header fields that follow the sha.
        case header
        /// Skipping the old and new path tokens of a rename.
        case skipping(Int)
    }

    private var state = State.body
    private var token: [UInt8] = []
    private var fields: [[UInt8]] = []
    private var current: CommitRecord?

    init() { token.reserveCapacity(1024) }

    /// Parses the next chunk of output.
    mutating func consume(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var start = 0
        while start < bytes.count {
            guard let nul = memchr(base + start, 0, bytes.count - start) else {
                keep(UnsafeRawBufferPointer(rebasing: bytes[start...]))
                return
            }
            let end = base.distance(to: UnsafeRawPointer(nul))
            keep(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            try endOfToken()
            start = end + 1
        }
    }

    /// Ends the output (the last token may lack its NUL) and returns the records.
    mutating func finish() throws -> [String: CommitRecord] {
        if !token.isEmpty { try endOfToken() }
        if case .header = state { throw Self.fail("truncated header") }
        if let record = current { records[record.sha] = record }
        current = nil
        return records
    }

    /// Appends to the current token what fits under the limit; the rest is dropped.
    private mutating func keep(_ bytes: UnsafeRawBufferPointer) {
        let room = Self.tokenLimit - token.count
        guard room > 0, !bytes.isEmpty else { return }
        token.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes.prefix(room)))
    }

    private mutating func endOfToken() throws {
        defer { token.removeAll(keepingCapacity: token.capacity <= 4096) }
        switch state {
        case .skipping(let remaining):
            state = remaining > 1 ? .skipping(remaining - 1) : .body
        case .header:
            fields.append(token)
            if fields.count == 7 { try startRecord() }
        case .body:
            if token.first == 0x1E {
                if let record = current { records[record.sha] = record }
                current = nil
                fields = [Array(token.dropFirst())]
                state = .header
                return
            }
            if token.isEmpty { return }  // -z's end of the header
            guard current != nil else { throw Self.fail("numstat before any commit") }
            try numstat()
        }
    }

    private mutating func startRecord() throws {
        let sha = String(decoding: fields[0], as: UTF8.self)
        guard RepositoryLayout.isSHA(sha),
            let authorSeconds = Int64(String(decoding: fields[4], as: UTF8.self)),
            let committerSeconds = Int64(String(decoding: fields[5], as: UTF8.self))
        else { throw Self.fail("malformed header of \(sha.prefix(80))") }
        current = CommitRecord(
            sha: sha,
            parents: String(decoding: fields[1], as: UTF8.self).split(separator: " ").map(String.init),
            authorName: String(decoding: fields[2], as: UTF8.self),
            authorEmail: String(decoding: fields[3], as: UTF8.self),
            authorDate: Date(timeIntervalSince1970: TimeInterval(authorSeconds)),
            committerDate: Date(timeIntervalSince1970: TimeInterval(committerSeconds)),
            summary: fields[6].withUnsafeBufferPointer { RepositoryLayout.summary(ofMessage: $0) },
            stats: .zero)
        fields = []
        state = .body
    }

    /// "added TAB deleted TAB path" (path empty for a rename: old and new follow as two tokens).
    private mutating func numstat() throws {
        var line = token[...]
        if line.first == 0x0A { line = line.dropFirst() }
        guard let tab1 = line.firstIndex(of: 0x09), let tab2 = line[(tab1 + 1)...].firstIndex(of: 0x09) else {
            throw Self.fail("numstat line without two tabs")
        }
        let added = try Self.count(line[line.startIndex..<tab1])
        let deleted = try Self.count(line[(tab1 + 1)..<tab2])
        if tab2 + 1 == line.endIndex { state = .skipping(2) }
        current?.stats?.filesChanged += 1
        current?.stats?.additions += added
        current?.stats?.deletions += deleted
    }

    /// A numstat count: digits, or `-` for a binary file (counted as 0).
    private static func count(_ field: ArraySlice<UInt8>) throws -> Int {
        if field.count == 1, field.first == 0x2D { return 0 }
        guard !field.isEmpty, field.count <= 18 else { throw fail("numstat count") }
        var value = 0
        for byte in field {
            guard byte >= 0x30, byte <= 0x39 else { throw fail("numstat count") }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    private static func fail(_ message: String) -> GitHistoryError {
        GitHistoryError(.unexpectedOutput, operation: "git log", message: message)
    }
}

/// Parses the output of `git cat-file --batch` for commit objects as it arrives, keeping only their `parent`
/// header lines: the rest of each object (a message of any size) is counted past, never held.
struct CatFileParentsStream {
    /// The parents recorded in each object, keyed by sha.
    private(set) var parents: [String: [String]] = [:]

    private enum State {
        /// Reading "<sha> <type> <size>\n".
        case objectHeader
        /// Reading the object's header lines; `remaining` content bytes are left.
        case headers(sha: String, remaining: Int)
        /// Skipping `remaining` content bytes, then the newline that ends the object.
        case skipping(remaining: Int)
    }

    private var state = State.objectHeader
    private var line: [UInt8] = []
    private var lineOverflowed = false
    private var found: [String] = []
    /// Longer header lines than this (a signature's) are skipped; a `parent` line is 48 bytes.
    private static let lineLimit = 256

    mutating func consume(_ bytes: UnsafeRawBufferPointer) throws {
        var index = 0
        while index < bytes.count {
            switch state {
            case .skipping(let remaining):
                let step = min(remaining + 1, bytes.count - index)  // the content, then its trailing newline
                index += step
                state = remaining + 1 - step == 0 ? .objectHeader : .skipping(remaining: remaining - step)
            case .objectHeader:
                let byte = bytes[index]
                index += 1
                if byte != 0x0A {
                    append(byte)
                    continue
                }
                let header = String(decoding: line, as: UTF8.self).split(separator: " ")
                let overflowed = lineOverflowed
                line.removeAll(keepingCapacity: true)
                lineOverflowed = false
                guard !overflowed, header.count == 3, let size = Int(header[2]), size >= 0 else {
                    throw GitHistoryError(
                        .unexpectedOutput, operation: "git cat-file", message: header.joined(separator: " "))
                }
                found = []
                state = .headers(sha: String(header[0]), remaining: size)
            case .headers(let sha, let remaining):
                if remaining == 0 {  // an object of headers only
                    parents[sha] = found
                    state = .skipping(remaining: 0)
                    continue
                }
                let byte = bytes[index]
                index += 1
                guard byte == 0x0A else {
                    append(byte)
                    state = .headers(sha: sha, remaining: remaining - 1)
                    continue
                }
                if line.isEmpty {  // the blank line that ends the headers
                    parents[sha] = found
                    state = .skipping(remaining: remaining - 1)
                    continue
                }
                if !lineOverflowed, line.starts(with: Self.parentPrefix) {
                    found.append(String(decoding: line.dropFirst(Self.parentPrefix.count), as: UTF8.self))
                }
                line.removeAll(keepingCapacity: true)
                lineOverflowed = false
                state = .headers(sha: sha, remaining: remaining - 1)
            }
        }
    }

    mutating func finish() -> [String: [String]] {
        if case .headers(let sha, _) = state { parents[sha] = found }
        return parents
    }

    private static let parentPrefix = Array("parent ".utf8)

    private mutating func append(_ byte: UInt8) {
        if line.count < Self.lineLimit { line.append(byte) } else { lineOverflowed = true }
    }
}
