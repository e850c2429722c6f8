import Foundation

/// Removes secrets from text that may reach a log line or an error: the token, its base64 forms,
/// URL credentials (`scheme://user:pass@host` → `scheme://***@host`) and `Authorization:` header values.
struct SecretScrubber: Sendable {
    private let secrets: [String]

    init(secrets: [String]) {
        // Longest first, so a secret containing another is replaced whole. Very short strings are
        // not secrets worth scrubbing (and would mangle ordinary text).
        self.secrets = Array(Set(secrets.filter { $0.count >= 4 })).sorted { $0.count > $1.count }
    }

    func scrub(_ text: String) -> String {
        var text = text
        for secret in secrets where text.contains(secret) {
            text = text.replacingOccurrences(of: secret, with: "***")
        }
        return Self.scrubAuthorizationHeaders(Self.scrubURLCredentials(text))
    }

    /// Replaces the user-info part of every `scheme://user[:pass]@host` in `text` with `***`.
    static func scrubURLCredentials(_ text: String) -> String {
        guard text.contains("://"), text.contains("@") else { return text }
        var result = ""
        var rest = Substring(text)
        while let range = rest.range(of: "://") {
            result += rest[..<range.upperBound]
            rest = rest[range.upperBound...]
            // The authority ends at the first '/', '?', '#', whitespace or quote.
            let end = rest.firstIndex { "/?#\"' \t\r\n<>".contains($0) } ?? rest.endIndex
            let authority = rest[..<end]
            if let at = authority.lastIndex(of: "@") {
                result += "***"
                rest = rest[at...]
            }
        }
        result += rest
        return result
    }

    /// Replaces the value of any `Authorization:` header shown in `text` (git's curl traces print them).
    static func scrubAuthorizationHeaders(_ text: String) -> String {
        guard let _ = text.range(of: "authorization:", options: .caseInsensitive) else { return text }
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

/// A remote URL taken apart just enough to check its scheme and move credentials out of it.
struct ParsedRemoteURL: Equatable {
    /// The transport git would use: `https`, `http`, `ssh`, `git`, `file`, `ext`, …
    var scheme: String
    /// The URL as given to git: without user information.
    var urlWithoutCredentials: String
    /// `user` and `password` found in the URL (percent-decoded), if any.
    var user: String?
    var password: String?

    init(_ url: String) {
        var url = url
        if let separator = url.range(of: "://") {
            scheme = url[..<separator.lowerBound].lowercased()
            let authorityStart = separator.upperBound
            let authorityEnd = url[authorityStart...].firstIndex { "/?#".contains($0) } ?? url.endIndex
            if let at = url[authorityStart..<authorityEnd].lastIndex(of: "@") {
                let userInfo = url[authorityStart..<at]
                if let colon = userInfo.firstIndex(of: ":") {
                    user = String(userInfo[..<colon]).removingPercentEncoding ?? String(userInfo[..<colon])
                    let pass = userInfo[userInfo.index(after: colon)...]
                    password = String(pass).removingPercentEncoding ?? String(pass)
                } else {
                    user = String(userInfo).removingPercentEncoding ?? String(userInfo)
                }
                url.removeSubrange(authorityStart...at)
            }
        } else if let separator = url.range(of: "::") {
            // git's `<transport>::<address>` remote-helper syntax (`ext::`, `fd::`, …).
            scheme = url[..<separator.lowerBound].lowercased()
        } else if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") {
            // scp-like `[user@]host:path` is ssh.
            scheme = "ssh"
        } else {
            scheme = "file"
        }
        urlWithoutCredentials = url
    }
}
