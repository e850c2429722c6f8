import Foundation

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
