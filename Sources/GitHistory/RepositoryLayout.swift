import Foundation

/// Where a clone keeps its git data, and which commits are its shallow boundary.
enum RepositoryLayout {
    /// The common git directory of `repository`: `repository/.git` for a work tree (following a `gitdir:` file and
    /// a `commondir` link for linked work trees), `repository` itself for a bare repository.
    static func commonGitDirectory(of repository: String) -> URL {
        let root = URL(fileURLWithPath: repository)
        let dotGit = root.appendingPathComponent(".git")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) else { return root }
        if isDirectory.boolValue { return dotGit }
        // A `.git` file: "gitdir: <path>", relative to the work tree.
        guard let text = try? String(contentsOf: dotGit, encoding: .utf8),
            let line = text.split(separator: "\n").first, line.hasPrefix("gitdir:")
        else { return root }
        let target = line.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespaces)
        let gitDirectory = target.hasPrefix("/") ? URL(fileURLWithPath: target) : root.appendingPathComponent(target)
        let commondirFile = gitDirectory.appendingPathComponent("commondir")
        if let common = try? String(contentsOf: commondirFile, encoding: .utf8) {
            let path = common.trimmingCharacters(in: .whitespacesAndNewlines)
            return path.hasPrefix("/") ? URL(fileURLWithPath: path) : gitDirectory.appendingPathComponent(path)
        }
        return gitDirectory
    }

    /// The shas listed in `<git dir>/shallow` (empty for a complete clone).
    static func shallowCommits(inGitDirectory gitDirectory: URL) -> Set<String> {
        guard let data = try? Data(contentsOf: gitDirectory.appendingPathComponent("shallow")) else { return [] }
        var result = Set<String>()
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let sha = line.trimmingCharacters(in: .whitespaces).lowercased()
            if isSHA(sha) { result.insert(sha) }
        }
        return result
    }

    /// True for 40 lower-case hex digits.
    static func isSHA(_ text: String) -> Bool {
        let utf8 = text.utf8
        return utf8.count == 40 && utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// How much of a commit message is read for its summary: the rest is never held (a message may be gigabytes).
    static let messagePrefixLimit = 64 * 1024

    /// The longest summary stored, in bytes; a longer first line is cut at a character boundary before it.
    static let summaryLimit = 1024

    /// The first line of a commit message, skipping leading blank lines, without trailing white space (spaces,
    /// tabs, carriage returns), read from the message's first ``messagePrefixLimit`` bytes and at most
    /// ``summaryLimit`` bytes long. Invalid UTF-8 is replaced, not rejected.
    static func summary(ofMessage whole: UnsafeBufferPointer<UInt8>) -> String {
        let message = UnsafeBufferPointer(rebasing: whole.prefix(messagePrefixLimit))
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D }
        var start = 0
        // Skip lines made only of white space.
        var scan = 0
        while scan < message.count {
            if message[scan] == 0x0A { start = scan + 1 } else if !isBlank(message[scan]) { break }
            scan += 1
        }
        if scan == message.count { return "" }
        var end = start
        while end < message.count, message[end] != 0x0A { end += 1 }
        while end > start, isBlank(message[end - 1]) { end -= 1 }
        if end - start > summaryLimit {
            end = start + summaryLimit
            // Back up over continuation bytes (10xxxxxx) to the start of the character that did not fit.
            while end > start, message[end] & 0xC0 == 0x80 { end -= 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: message[start..<end]), as: UTF8.self)
    }
}
