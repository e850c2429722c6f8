import Foundation

/// A repository's `.mailmap`: maps the names and emails commits were made with to canonical ones,
/// so one person with two addresses counts once (gitmailmap(5)).
///
/// The four forms of a line:
/// ```
/// Proper Name <commit@email>                              # name for that email
/// <proper@email> <commit@email>                           # email for that email
/// Proper Name <proper@email> <commit@email>               # both, for that email
/// Proper Name <proper@email> Commit Name <commit@email>   # both, for that name and email
/// ```
/// Emails and names match case-insensitively; `#` starts a comment; lines that do not parse are ignored, as git does.
public struct Mailmap: Sendable, Equatable {
    struct Rule: Sendable, Equatable {
        var properName: String?
        var properEmail: String?
        var commitName: String?
        var commitEmail: String
    }

    private var byEmail: [String: [Rule]] = [:]

    public static let empty = Mailmap(parsing: "")

    public init(parsing text: String) {
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            guard let rule = Self.parse(line) else { continue }
            byEmail[rule.commitEmail.lowercased(), default: []].append(rule)
        }
    }

    private static func parse(_ line: Substring) -> Rule? {
        // Split into (name before <, email) pairs.
        var pairs: [(name: String?, email: String)] = []
        var rest = line
        while let open = rest.firstIndex(of: "<") {
            guard let close = rest[open...].firstIndex(of: ">") else { return nil }
            let name = rest[..<open].trimmingCharacters(in: .whitespaces)
            let email = String(rest[rest.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
            pairs.append((name.isEmpty ? nil : name, email))
            rest = rest[rest.index(after: close)...]
        }
        switch pairs.count {
        case 1:
            guard let name = pairs[0].name else { return nil }
            return Rule(properName: name, properEmail: nil, commitName: nil, commitEmail: pairs[0].email)
        case 2:
            return Rule(properName: pairs[0].name, properEmail: pairs[0].email, commitName: pairs[1].name, commitEmail: pairs[1].email)
        default:
            return nil
        }
    }

    /// The canonical name and email for a commit's author.
    public func resolve(name: String, email: String) -> (name: String, email: String) {
        guard let rules = byEmail[email.lowercased()] else { return (name, email) }
        // A rule naming the commit name is more specific than one that does not.
        let match = rules.last { $0.commitName?.lowercased() == name.lowercased() } ?? rules.last { $0.commitName == nil }
        guard let match else { return (name, email) }
        return (match.properName ?? name, match.properEmail ?? email)
    }
}
