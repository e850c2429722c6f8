import Foundation

/// A compiled regular expression over text that is not YAML (file names, shell commands, policy prose).
struct Pattern: @unchecked Sendable {
    // NSRegularExpression is immutable once built and documented thread-safe.
    let regex: NSRegularExpression

    init(_ pattern: String, caseInsensitive: Bool = false) {
        // The patterns are literals of this module: a bad one is a programming error caught by the tests.
        do {
            regex = try NSRegularExpression(pattern: pattern, options: caseInsensitive ? [.caseInsensitive] : [])
        } catch {
            preconditionFailure("bad pattern \(pattern): \(error)")
        }
    }

    func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// Every match's text.
    func all(_ text: String) -> [String] {
        regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range, in: text).map { String(text[$0]) }
        }
    }

    /// The capture groups of the first match (nil for a group that did not take part).
    func groups(_ text: String) -> [String?]? {
        guard let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        return (0..<match.numberOfRanges).map { index in
            Range(match.range(at: index), in: text).map { String(text[$0]) }
        }
    }
}

extension String {
    /// 1-based line of the first line containing `needle`, or 0.
    func lineNumber(of needle: String) -> Int {
        for (index, line) in split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where line.contains(needle) {
            return index + 1
        }
        return 0
    }
}
