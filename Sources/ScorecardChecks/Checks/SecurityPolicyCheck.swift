import Foundation
import Scorecard

/// Security-Policy: a security policy file at the places GitHub looks, scored as the official probes do:
/// linked content (a URL or an e-mail) +6, text besides links +3, more than one hint of disclosure,
/// vulnerability or timelines (`disclos`, `vuln`, 1–4 digit numbers) +1; no file → 0.
public struct SecurityPolicyCheck: Check {
    public let name = "Security-Policy"
    public let shortDescription = "Determines if the project has published a security policy."

    /// The official file names (case-insensitive), relative to the root.
    static let policyPaths = [
        "security.md", ".github/security.md", "docs/security.md",
        "security.markdown", ".github/security.markdown", "docs/security.markdown",
        "security.adoc", ".github/security.adoc", "docs/security.adoc",
        "security.rst", ".github/security.rst", "doc/security.rst", "docs/security.rst",
    ]
    static let url = Pattern(#"(http|https)://[a-zA-Z0-9./?=_%:-]*"#)
    static let email = Pattern(#"\b[A-Za-z0-9._%+-]+(@|\\?\[at\\?\])[A-Za-z0-9.-]+\.[A-Za-z]{2,6}\b"#)
    static let hint = Pattern(#"(\b[0-9]{1,4}\b|(Disclos|Vuln))"#, caseInsensitive: true)

    /// A check with the official rules.
    public init() {}

    public func run(_ context: CheckContext) -> ScorecardReport.Check {
        var details = Details()
        let policy = context.index.files(lowercasedPaths: Self.policyPaths).first
        guard let policy, let data = context.read(policy.path) else {
            details.warn("no security policy file detected")
            details.warn("no security file to analyze")
            details.warn("no security file to analyze")
            details.warn("no security file to analyze")
            return result(0, "security policy file not detected", details)
        }
        let location = Location(policy.path, line: 1)
        details.info("security policy file detected", at: location)
        let text = String(decoding: data, as: UTF8.self)
        var urls: [String] = []
        var emails: [String] = []
        var hints = 0
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            let line = String(line)
            urls += Self.url.all(line)
            emails += Self.email.all(line)
            hints += Self.hint.all(line).count
        }
        var score = 0
        let uniqueURLs = Set(urls), uniqueEmails = Set(emails)
        if uniqueURLs.count + uniqueEmails.count > 0 {
            score += 6
            details.info("Found linked content", at: location)
        } else {
            details.warn("no linked content found")
        }
        let linkedLength = uniqueURLs.reduce(0) { $0 + $1.utf8.count } + uniqueEmails.reduce(0) { $0 + $1.utf8.count }
        let size = Int(policy.size)
        if size > 1 && size > linkedLength + (uniqueURLs.count + uniqueEmails.count) * 2 {
            score += 3
            details.info("Found text in security policy", at: location)
        } else {
            details.warn("No text (besides links / emails) found in security policy")
        }
        if hints > 1 {
            score += 1
            details.info("Found disclosure, vulnerability, and/or timelines in security policy", at: location)
        } else {
            details.warn("One or no descriptive hints of disclosure, vulnerability, and/or timelines in security policy")
        }
        return result(score, "security policy file detected", details)
    }
}
