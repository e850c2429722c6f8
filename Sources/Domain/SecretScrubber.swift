import Foundation

/// Removes secrets from text that may reach a log line, an error message or a kept stderr tail: the given
/// values (tokens and their encoded forms), URL credentials (`scheme://user:pass@host` → `scheme://***@host`)
/// and `Authorization:` header values. Used wherever a child process (git, Scorecard) may print a secret.
public struct SecretScrubber: Sendable {
    /// Longest first, so a secret containing another is replaced whole.
    private let secrets: [String]

    /// Secrets shorter than 4 characters are not scrubbed: they are not secrets worth the name and would mangle
    /// ordinary text.
    public init(secrets: some Sequence<String>) {
        self.secrets = Array(Set(secrets.filter { $0.count >= 4 })).sorted { $0.utf8.count > $1.utf8.count }
    }

    /// The longest secret, in UTF-8 bytes (0 without secrets).
    public var longestSecretBytes: Int { secrets.first?.utf8.count ?? 0 }

    public func scrub(_ text: String) -> String {
        var text = text
        for secret in secrets where text.contains(secret) {
            text = text.replacingOccurrences(of: secret, with: "***")
        }
        return Self.scrubAuthorizationHeaders(Self.scrubURLCredentials(text))
    }

    /// The end of a stream, scrubbed, at most `limit` UTF-8 bytes (cut at a character boundary).
    ///
    /// `truncated`: `bytes` is the end of a longer stream, so it may begin with the end of a cut secret, which no
    /// longer matches; that beginning (as long as the longest secret) is dropped before anything is shown.
    public func scrubbedTail(_ bytes: [UInt8], truncated: Bool, limit: Int) -> String {
        var text = scrub(String(decoding: bytes, as: UTF8.self))
        if truncated {
            text = String(text.dropFirst(max(longestSecretBytes, 1)))
        }
        return Self.suffix(text, maxBytes: limit)
    }

    /// The longest suffix of `text` of at most `maxBytes` UTF-8 bytes that starts at a character boundary.
    public static func suffix(_ text: String, maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        var count = 0
        var start = text.endIndex
        while start > text.startIndex {
            let previous = text.index(before: start)
            let size = text[previous].utf8.count
            if count + size > maxBytes { break }
            count += size
            start = previous
        }
        return String(text[start...])
    }

    /// The longest prefix of `text` of at most `maxBytes` UTF-8 bytes that ends at a character boundary.
    public static func prefix(_ text: String, maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        var count = 0
        var end = text.startIndex
        while end < text.endIndex {
            let size = text[end].utf8.count
            if count + size > maxBytes { break }
            count += size
            end = text.index(after: end)
        }
        return String(text[..<end])
    }

    /// Replaces the user-info part of every `scheme://user[:pass]@host` in `text` with `***`.
    public static func scrubURLCredentials(_ text: String) -> String {
        guard text.contains("://"), text.contains("@") else { return text }
        var result = ""
        var rest = Substring(text)
        while let range = rest.range(of: "://") {
            result += rest[..<range.upperBound]
            rest = rest[range.upperBound...]
            // The authority ends at the first '/', '?', '#', whitespace or quote.
            let end = rest.firstIndex { "/?#\"' \t\r\n<>".contains($0) } ?? rest.endIndex
            if let at = rest[..<end].lastIndex(of: "@") {
                result += "***"
                rest = rest[at...]
            }
        }
        result += rest
        return result
    }

    /// Replaces the value of any `Authorization:` header shown in `text`.
    public static func scrubAuthorizationHeaders(_ text: String) -> String {
        guard text.range(of: "authorization:", options: .caseInsensitive) != nil else { return text }
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let range = line.range(of: "authorization:", options: .caseInsensitive) {
                lines.append(line[..<range.upperBound] + " ***")
            } else {
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }
}
