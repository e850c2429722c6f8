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
/// Read as git reads it (`mailmap.c`), so that `git shortlog` and `git check-mailmap` agree with us:
/// - a line starting with `#` is a comment; anything after the last `>` a line uses is ignored (so a trailing
///   `# comment` is too), but a `#` elsewhere is text (`C# Dev <c@x>` names C# Dev);
/// - a line needs `<…>` with a non-empty email first; a second `<…>` (which may be empty) makes it a mapping of that
///   commit email, more than two are ignored; whitespace around names is trimmed, emails are taken as written;
/// - lines without a commit name for the same email merge field by field, the later line winning a field it sets
///   (`Jane <j@old>` then `<j@new> <j@old>` maps j@old to `Jane <j@new>`); of lines naming the same commit
///   name and email, the last wins;
/// - commit emails and names match ignoring ASCII case; a line naming the commit name wins over one that does not.
public struct Mailmap: Sendable, Equatable {
    /// A canonical name and/or email (nil: keep the commit's).
    struct Replacement: Sendable, Equatable {
        var name: String?
        var email: String?
    }

    /// Everything the file says about one commit email.
    struct Entry: Sendable, Equatable {
        /// From lines without a commit name.
        var simple = Replacement()
        /// From lines with one, by ASCII-lower-cased commit name.
        var byName: [String: Replacement] = [:]
    }

    /// By ASCII-lower-cased commit email.
    private var entries: [String: Entry] = [:]

    public static let empty = Mailmap(parsing: "")

    public init(parsing text: String) {
        // Bytes, as git reads them: lines end at LF (a CR before it is whitespace or ignored text, below); a `<` or `>`
        // is one even where a combining mark follows it.
        for line in text.unicodeScalars.split(separator: "\n") where line.first != "#" {
            guard let first = Self.nameAndEmail(line, allowEmptyEmail: false) else { continue }
            let second = first.rest.isEmpty ? nil : Self.nameAndEmail(first.rest, allowEmptyEmail: true)
            guard let second else {
                // `Proper Name <commit@email>`: a name for that email (an email alone says nothing).
                if let name = first.name { entries[Self.fold(first.email), default: Entry()].simple.name = name }
                continue
            }
            let replacement = Replacement(name: first.name, email: first.email)
            if let commitName = second.name {
                entries[Self.fold(second.email), default: Entry()].byName[Self.fold(commitName)] = replacement
            } else {
                var entry = entries[Self.fold(second.email), default: Entry()]
                if let name = replacement.name { entry.simple.name = name }
                entry.simple.email = replacement.email
                entries[Self.fold(second.email)] = entry
            }
        }
    }

    /// `Name <email>` at the start of `text` (git's `parse_name_and_email`): the name with C whitespace trimmed (nil
    /// when empty), the email as written between the brackets, and what follows the `>`. Nil without `<…>`.
    private static func nameAndEmail(
        _ text: Substring.UnicodeScalarView, allowEmptyEmail: Bool
    ) -> (name: String?, email: String, rest: Substring.UnicodeScalarView)? {
        guard let open = text.firstIndex(of: "<"),
            let close = text[text.index(after: open)...].firstIndex(of: ">")
        else { return nil }
        let email = text[text.index(after: open)..<close]
        if email.isEmpty && !allowEmptyEmail { return nil }
        // C's isspace: space, tab, newline, vertical tab, form feed, carriage return.
        let isSpace: (Unicode.Scalar) -> Bool = { [" ", "\t", "\n", "\u{0B}", "\u{0C}", "\r"].contains($0) }
        let before = text[..<open]
        let start = before.firstIndex { !isSpace($0) } ?? before.endIndex
        let end = before.lastIndex { !isSpace($0) }.map { before.index(after: $0) } ?? start
        let name = String(Substring(before[start..<end]))
        return (name.isEmpty ? nil : name, String(Substring(email)), text[text.index(after: close)...])
    }

    /// Git compares mailmap names and emails with `strcasecmp`: ASCII letters only.
    private static func fold(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { ("A"..."Z").contains($0) ? Unicode.Scalar($0.value + 32)! : $0 }))
    }

    /// The canonical name and email for a commit's author.
    public func resolve(name: String, email: String) -> (name: String, email: String) {
        guard let entry = entries[Self.fold(email)] else { return (name, email) }
        // A line naming the commit name is more specific than one that does not.
        let replacement = entry.byName[Self.fold(name)] ?? entry.simple
        return (replacement.name ?? name, replacement.email ?? email)
    }
}
