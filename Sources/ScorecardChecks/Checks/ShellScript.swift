import Foundation

/// A light reading of shell scripts (workflow `run:`, Dockerfile `RUN`, `*.sh`) for Pinned-Dependencies:
/// continuation lines joined, comments dropped, split into pipelines on `;`, `&&`, `||` and newlines, and each
/// pipeline into commands on `|`, words split on blanks with simple quotes removed. The official CLI uses a full
/// shell parser (mvdan.cc/sh); this one misses commands hidden in functions, `eval` or here-documents.
enum ShellScript {
    /// The pipelines of `script`, each a list of commands, each a list of words.
    static func pipelines(_ script: String) -> [[[String]]] {
        let joined = script.replacingOccurrences(of: "\\\r\n", with: " ").replacingOccurrences(of: "\\\n", with: " ")
        var result: [[[String]]] = []
        for rawLine in joined.split(whereSeparator: \.isNewline) {
            var line = String(rawLine)
            if let hash = commentStart(line) { line = String(line[..<hash]) }
            for part in splitOutsideQuotes(line, separators: ["&&", "||", ";"]) {
                let commands = splitOutsideQuotes(part, separators: ["|"]).map(words).filter { !$0.isEmpty }
                if !commands.isEmpty { result.append(commands) }
            }
        }
        return result
    }

    /// Index of a `#` that starts a comment (at a word start, outside quotes).
    static func commentStart(_ line: String) -> String.Index? {
        var quote: Character?
        var previous: Character = " "
        for index in line.indices {
            let c = line[index]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "#" && (previous == " " || previous == "\t") {
                return index
            }
            previous = c
        }
        return nil
    }

    static func splitOutsideQuotes(_ text: String, separators: [String]) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        var depth = 0  // inside $( … ) or <( … )
        var index = text.startIndex
        outer: while index < text.endIndex {
            let c = text[index]
            if let q = quote {
                if c == q { quote = nil }
                current.append(c)
                index = text.index(after: index)
                continue
            }
            if c == "'" || c == "\"" { quote = c }
            if c == "(" { depth += 1 }
            if c == ")" { depth = max(0, depth - 1) }
            if depth == 0 && quote == nil {
                for separator in separators where text[index...].hasPrefix(separator) {
                    // `||` must not be read as two pipes.
                    if separator == "|" && text[index...].hasPrefix("||") { break }
                    parts.append(current)
                    current = ""
                    index = text.index(index, offsetBy: separator.count)
                    continue outer
                }
            }
            current.append(c)
            index = text.index(after: index)
        }
        parts.append(current)
        return parts.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func words(_ command: String) -> [String] {
        var words = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { word in
            String(word).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }
        // Leading `sudo`, `env A=B`, `time` and assignments do not change what runs.
        while let first = words.first, ["sudo", "env", "time", "exec", "command"].contains(first) || isAssignment(first) {
            words.removeFirst()
        }
        return words
    }

    static func isAssignment(_ word: String) -> Bool {
        guard let eq = word.firstIndex(of: "="), eq != word.startIndex else { return false }
        return word[..<eq].allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }

    static let interpreters: Set<String> = [
        "sh", "bash", "zsh", "ksh", "dash", "mksh", "fish", "python", "python2", "python3", "perl", "ruby", "node",
        "pwsh", "powershell", "php",
    ]
    static let downloaders: Set<String> = ["curl", "wget", "fetch", "aria2c", "gsutil"]

    static func base(_ word: String) -> String { String(word.split(separator: "/").last ?? Substring(word)) }

    /// A dependency use found in a script, with its kind (the official dependency type names) and pinned state.
    struct Use {
        let kind: String
        let pinned: Bool
        let snippet: String
    }

    static let hexHash = Pattern(#"^[0-9a-fA-F]{40}$"#)

    /// The dependency uses of one script.
    static func uses(_ script: String) -> [Use] {
        var found: [Use] = []
        for pipeline in pipelines(script) {
            let snippet = pipeline.map { $0.joined(separator: " ") }.joined(separator: " | ")
            // curl … | sh
            if pipeline.count > 1, let first = pipeline.first?.first, downloaders.contains(base(first)),
               pipeline.dropFirst().contains(where: { interpreters.contains(base($0.first ?? "")) }) {
                found.append(Use(kind: "downloadThenRun", pinned: false, snippet: snippet))
                continue
            }
            // sh -c "$(curl …)", bash <(wget …)
            let flat = pipeline.flatMap { $0 }
            if let first = flat.first, interpreters.contains(base(first)),
               flat.contains(where: { word in downloaders.contains { word.contains("$(\($0)") || word.contains("<(\($0)") } }) {
                found.append(Use(kind: "downloadThenRun", pinned: false, snippet: snippet))
                continue
            }
            for command in pipeline {
                if let use = packageManagerUse(command, snippet: snippet) { found.append(use) }
            }
        }
        return found
    }

    static func packageManagerUse(_ words: [String], snippet: String) -> Use? {
        guard let first = words.first else { return nil }
        let tool = base(first)
        var args = Array(words.dropFirst())
        // python -m pip install …
        if tool.hasPrefix("python"), args.count >= 2, args[0] == "-m", args[1] == "pip" || args[1] == "pip3" {
            args = Array(args.dropFirst(2))
            return pipUse(args, snippet: snippet)
        }
        switch tool {
        case "pip", "pip3":
            return pipUse(args, snippet: snippet)
        case "npm":
            guard let verb = args.first(where: { !$0.hasPrefix("-") }) else { return nil }
            if verb == "ci" { return Use(kind: "npmCommand", pinned: true, snippet: snippet) }
            if ["install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal", "add"].contains(verb) {
                return Use(kind: "npmCommand", pinned: false, snippet: snippet)
            }
        case "go":
            guard let verb = args.first, verb == "install" || verb == "get" else { return nil }
            let targets = args.dropFirst().filter { !$0.hasPrefix("-") }
            guard !targets.isEmpty else { return nil }
            let pinned = targets.allSatisfy { target in
                guard let at = target.lastIndex(of: "@") else { return target.hasPrefix(".") }
                return hexHash.matches(String(target[target.index(after: at)...]))
            }
            return Use(kind: "goCommand", pinned: pinned, snippet: snippet)
        case "choco":
            guard args.first == "install" else { return nil }
            return Use(kind: "chocoCommand", pinned: args.contains("--requirechecksums") || args.contains("--require-checksums"), snippet: snippet)
        case "nuget":
            guard args.first?.lowercased() == "install" else { return nil }
            return Use(kind: "nugetCommand", pinned: args.contains { $0.lowercased() == "-version" }, snippet: snippet)
        default:
            break
        }
        return nil
    }

    /// `pip install …` with the official rules (`isUnpinnedPipInstall`, checks/raw/shell_download_validate.go):
    /// pinned with `--require-hashes`, or when only wheels (`*.whl`) are named; an editable install (`-e`) only with
    /// `--no-deps` and every editable source local or a git URL pinned at a commit. Anything else named (a package,
    /// `.`, the file after `-r`) is unpinned.
    static func pipUse(_ args: [String], snippet: String) -> Use? {
        guard args.first?.lowercased() == "install" else { return nil }
        var noDeps = false, editable = false, editableSourcesPinned = true
        var requireHashes = false, named = false, wheel = false
        for arg in args.dropFirst() {
            if arg.lowercased() == "--no-deps" { noDeps = true; continue }
            if arg == "-e" || arg == "--editable" { editable = true; continue }
            if arg.lowercased() == "--require-hashes" { requireHashes = true; break }
            if pipFlag.matches(arg) { continue }
            if arg.hasSuffix(".whl") { wheel = true; continue }
            if editable {
                if remoteSource.matches(arg) && !pinnedGitSource.matches(arg) { editableSourcesPinned = false }
                continue
            }
            named = true
        }
        let pinned = editable ? noDeps && editableSourcesPinned : requireHashes || (!named && wheel)
        return Use(kind: "pipCommand", pinned: pinned, snippet: snippet)
    }

    static let pipFlag = Pattern(#"^(?:--?[0-9A-Za-z_]+)+$"#)
    static let remoteSource = Pattern(#"^(?:git|svn|hg|bzr).+$"#)
    static let pinnedGitSource = Pattern(#"^git(?:\+(?:https?|ssh|git))?://.*(?:.git)?@[a-fA-F0-9]{40}(?:#egg=.*)?$"#)
}
