import Foundation
import Scorecard

/// License: a license file at the top level (`LICENSE`, `LICENCE`, `COPYING`, `COPYRIGHT`, `PATENTS`, with an
/// optional SPDX id before or after and an allowed extension, or a `LICENSES/` folder) → 9; +1 when its license
/// is FSF- or OSI-approved → 10; none → 0.
///
/// The official CLI in local mode reads the SPDX id only from the file name (`LICENSE-MIT`, `Apache-2.0.txt` in
/// `LICENSES/`); this one also recognises the license text itself (an `SPDX-License-Identifier:` line or the
/// well-known title of the license), as GitHub's license API does in the official remote mode.
public struct LicenseCheck: Check {
    public let name = "License"
    public let shortDescription = "Determines if the project has defined a license."

    /// A top-level name: [SPDX sep] (LICENSE|LICENCE|COPYING|COPYRIGHT|PATENT)[S] [sep SPDX] [.ext].
    static let fileName = Pattern(
        #"^(?:([0-9A-Za-z]+(?:[-_.][0-9]{1,2}[A-Za-z]?){0,5}(?:[-_][0-9A-Za-z.]+)*)[-_])?(patents?|copying|copyright|licen[sc]es?)(?:[-_.]([0-9A-Za-z]+(?:[-_.][0-9]{1,2}[A-Za-z]?){0,5}(?:[-_][0-9A-Za-z]+)*))?(\.[A-Za-z]+)?$"#,
        caseInsensitive: true
    )
    static let allowedExtensions: Set<String> = [
        "", ".adoc", ".asc", ".doc", ".docx", ".ext", ".html", ".markdown", ".md", ".rst", ".txt", ".xml",
    ]
    static let spdxLine = Pattern(#"SPDX-License-Identifier:\s*([A-Za-z0-9.+-]+)"#)

    /// A check with the official rules.
    public init() {}

    /// The license file the official CLI would pick: a matching top-level file, else the first file of a top-level
    /// `LICENSES/` (or `LICENSE/`) folder; nil when none.
    static func licenseFile(in context: CheckContext) -> (file: RepoFile, spdxFromName: String?)? {
        for file in context.index.files(inLowercasedFolder: "") {
            guard let groups = fileName.groups(file.name) else { continue }
            let ext = (groups[4] ?? "").lowercased()
            var spdx = groups[1] ?? groups[3]
            if groups[4] == nil, let suffix = groups[3], file.name.hasSuffix("." + suffix) {
                // `LICENSE.md` (an extension) or `LICENSE.MIT` (an id); `license.yaml` is neither.
                if allowedExtensions.contains("." + suffix.lowercased()) {
                    spdx = groups[1]
                } else if SPDXLicenses.approved(id: suffix) == nil && !suffix.contains(where: \.isNumber) {
                    continue
                }
            }
            if !allowedExtensions.contains(ext) {
                // `LICENSE.Apache-2.0` style: the "extension" is part of the SPDX id.
                guard spdx != nil else { continue }
                spdx = (spdx ?? "") + ext
            }
            return (file, spdx)
        }
        let folder = context.index.files(inLowercasedFolder: "licenses") + context.index.files(inLowercasedFolder: "license")
        guard let file = folder.min(by: { $0.path < $1.path }) else { return nil }
        return (file, (file.name as NSString).deletingPathExtension)
    }

    public func run(_ context: CheckContext) -> ScorecardReport.Check {
        var details = Details()
        guard let (file, spdxFromName) = Self.licenseFile(in: context) else {
            details.warn("project does not have a license file")
            return result(0, "license file not detected", details)
        }
        let location = Location(file.path)
        details.info("project has a license file", at: location)
        var license = spdxFromName.flatMap(SPDXLicenses.approved(id:))
        if license == nil, let text = context.text(file.path) {
            license = SPDXLicenses.detect(text: text, spdxLine: Self.spdxLine)
        }
        if let license {
            details.info("FSF or OSI recognized license: \(license.name)", at: location)
            return result(10, "license file detected", details)
        }
        details.warn("project license file does not contain an FSF or OSI license.")
        return result(9, "license file detected", details)
    }
}

/// FSF- or OSI-approved licenses the check recognises: ids (case-insensitive) and well-known title lines.
enum SPDXLicenses {
    struct License {
        let id: String
        let name: String
        /// Phrases (lower-cased) that identify the license text near its start.
        let phrases: [String]
    }

    static let known: [License] = [
        .init(id: "Apache-2.0", name: "Apache License 2.0", phrases: ["apache license", "version 2.0"]),
        .init(id: "MIT", name: "MIT License", phrases: ["permission is hereby granted, free of charge"]),
        .init(id: "BSD-3-Clause", name: "BSD 3-Clause \"New\" or \"Revised\" License",
              phrases: ["redistribution and use in source and binary forms", "neither the name"]),
        .init(id: "BSD-2-Clause", name: "BSD 2-Clause \"Simplified\" License",
              phrases: ["redistribution and use in source and binary forms"]),
        .init(id: "LGPL-3.0", name: "GNU Lesser General Public License v3.0",
              phrases: ["gnu lesser general public license", "version 3"]),
        .init(id: "LGPL-2.1", name: "GNU Lesser General Public License v2.1",
              phrases: ["gnu lesser general public license", "version 2.1"]),
        .init(id: "AGPL-3.0", name: "GNU Affero General Public License v3.0",
              phrases: ["gnu affero general public license", "version 3"]),
        .init(id: "GPL-3.0", name: "GNU General Public License v3.0", phrases: ["gnu general public license", "version 3"]),
        .init(id: "GPL-2.0", name: "GNU General Public License v2.0", phrases: ["gnu general public license", "version 2"]),
        .init(id: "MPL-2.0", name: "Mozilla Public License 2.0", phrases: ["mozilla public license", "2.0"]),
        .init(id: "ISC", name: "ISC License", phrases: ["permission to use, copy, modify, and/or distribute this software"]),
        .init(id: "Unlicense", name: "The Unlicense", phrases: ["this is free and unencumbered software released into the public domain"]),
        .init(id: "EPL-2.0", name: "Eclipse Public License 2.0", phrases: ["eclipse public license", "2.0"]),
        .init(id: "EPL-1.0", name: "Eclipse Public License 1.0", phrases: ["eclipse public license", "1.0"]),
        .init(id: "BSL-1.0", name: "Boost Software License 1.0", phrases: ["boost software license", "1.0"]),
        .init(id: "Zlib", name: "zlib License", phrases: ["this software is provided 'as-is'", "altered source versions"]),
        .init(id: "0BSD", name: "BSD Zero Clause License", phrases: []),
        .init(id: "CDDL-1.0", name: "Common Development and Distribution License 1.0", phrases: []),
        .init(id: "Artistic-2.0", name: "Artistic License 2.0", phrases: ["artistic license 2.0"]),
        .init(id: "EUPL-1.2", name: "European Union Public License 1.2", phrases: ["european union public licence", "v. 1.2"]),
        .init(id: "WTFPL", name: "Do What The F*ck You Want To Public License", phrases: []),
        .init(id: "AFL-3.0", name: "Academic Free License v3.0", phrases: []),
        .init(id: "PostgreSQL", name: "PostgreSQL License", phrases: []),
        .init(id: "NCSA", name: "University of Illinois/NCSA Open Source License", phrases: []),
        .init(id: "Python-2.0", name: "Python License 2.0", phrases: []),
        .init(id: "OFL-1.1", name: "SIL Open Font License 1.1", phrases: []),
        .init(id: "CC0-1.0", name: "Creative Commons Zero v1.0 Universal", phrases: []),
    ]

    /// The approved license with SPDX id `id` (case-insensitive; `-only`/`-or-later` suffixes and `UN` for Unlicense
    /// accepted).
    static func approved(id raw: String) -> License? {
        var id = raw.uppercased()
        for suffix in ["-ONLY", "-OR-LATER", "+"] where id.hasSuffix(suffix) { id = String(id.dropLast(suffix.count)) }
        if id == "UN" { id = "UNLICENSE" }
        if id == "APACHE" { id = "APACHE-2.0" }
        return known.first { $0.id.uppercased() == id }
    }

    /// The license a text states: an `SPDX-License-Identifier:` line, else the first license whose phrases all
    /// occur in its first 4 KiB.
    static func detect(text: String, spdxLine: Pattern) -> License? {
        let head = String(text.prefix(4096))
        if let groups = spdxLine.groups(head), let id = groups[1], let license = approved(id: id) { return license }
        let lower = head.lowercased()
            .replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
            .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return known.first { !$0.phrases.isEmpty && $0.phrases.allSatisfy(lower.contains) }
    }
}
