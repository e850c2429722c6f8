import Foundation
import Scorecard

/// License, scored as the official check in local mode (Scorecard v5.4/v5.5: `checks/raw/license.go`, the probes
/// `hasLicenseFile` and `hasFSFOrOSIApprovedLicense`, `checks/evaluation/license.go`):
///
/// - a license file → 9: the first path, in the order the official walk lists files (depth first, names sorted),
///   that the official name rules accept: `LICENSE`, `LICENCE`, `COPYING`, `COPYRIGHT`, `PATENTS` (any case,
///   singular or plural) at the top level, optionally with an SPDX id before or after (`MIT-LICENSE`,
///   `LICENSE-Apache-2.0`, `LICENSE.MIT` is not one) and an allowed extension (`.md`, `.txt`…); or a file directly
///   in such a folder (`LICENSES/MIT.txt`, the id taken from the file's name);
/// - +1 → 10 when that SPDX id, taken from the name alone, is an FSF- or OSI-approved license;
/// - none → 0.
///
/// The file's content is never read: the official local mode has no license API (`ListLicenses` is unsupported
/// there), so a plain `LICENSE` holding the MIT text scores 9, as it does with the official `scorecard --local`.
/// The official remote mode asks GitHub's license API instead, which reads the text: the same repository can
/// score 10 there (see scorecard/README.md).
public struct LicenseCheck: Check {
    public let name = "License"
    public let shortDescription = "Determines if the project has defined a license."

    /// The official name pattern, applied to the path from the root. Groups: 1 the whole match, 2 an SPDX id before
    /// the name, 3 the name (`LICENSE`…), 4 the separator after it (`/` for a folder), 5 an SPDX id after it, 6 a
    /// trailing extension. Not anchored at the end: what follows the match decides below.
    static let fileName = Pattern(
        #"^((?:([0-9A-Za-z]+(?:[-_.][0-9]{1,2}[A-Za-z]?){0,5}(?:[_-]?[0-9A-Za-z.])*))?[-_]?(patents?|copy(?:ing|right)|licen[sc]es?)([-_./])?([0-9A-Za-z]+(?:[-_.][0-9]{1,2}[A-Za-z]?){0,5}(?:[_-]?[0-9A-Za-z.])*)?(\.?[A-Za-z]+)?)"#,
        caseInsensitive: true
    )

    /// Extensions a license file may have; the official test is a case-insensitive search, not an equality, so
    /// `.mdx` or `.txt2` pass too.
    static let allowedExtensions = [".adoc", ".asc", ".doc", ".ext", ".html", ".markdown", ".md", ".rst", ".txt", ".xml"]

    /// A check with the official rules.
    public init() {}

    public func run(_ context: CheckContext) -> ScorecardReport.Check {
        var details = Details()
        guard let found = Self.licenseFile(in: context) else {
            // The FSF/OSI probe is "not applicable" here: a debug line, which the official CLI does not print.
            details.warn("project does not have a license file")
            return result(0, "license file not detected", details)
        }
        let location = Location(found.path)
        details.info("project has a license file", at: location)
        if let license = Self.approvedLicenses[found.spdx.uppercased()] {
            details.info("FSF or OSI recognized license: \(license)", at: location)
            return result(10, "license file detected", details)
        }
        details.warn("project license file does not contain an FSF or OSI license.")
        return result(9, "license file detected", details)
    }

    /// The license file the official CLI picks, as the path it reports and the SPDX id read from its name ("" when
    /// none); nil when there is none.
    static func licenseFile(in context: CheckContext) -> (path: String, spdx: String)? {
        // Only a top-level file, or a file directly in a top-level folder whose name ends like a license name, can
        // match: the pattern allows one `/`, right after the name. Those are few; the rest of the tree is not read.
        var candidates = context.index.files(inLowercasedFolder: "")
        for folder in context.index.lowercasedTopLevelFolders()
        where folder.contains("licen") || folder.contains("copy") || folder.contains("patent") {
            candidates += context.index.files(inLowercasedFolder: folder)
        }
        candidates.sort { walkOrder($0.path, $1.path) }
        for file in candidates {
            if let found = match(file.path) { return found }
        }
        return nil
    }

    /// True when the official walk lists `a` before `b`: depth first, each folder's entries sorted by name.
    static func walkOrder(_ a: String, _ b: String) -> Bool {
        a.split(separator: "/", omittingEmptySubsequences: false)
            .lexicographicallyPrecedes(b.split(separator: "/", omittingEmptySubsequences: false))
    }

    /// The official decision for one path: the path it reports and the SPDX id, or nil when it is no license file.
    static func match(_ path: String) -> (path: String, spdx: String)? {
        guard let groups = fileName.groups(path) else { return nil }
        let whole = groups[1] ?? "", before = groups[2] ?? "", detected = groups[3] ?? ""
        let separator = groups[4] ?? "", after = groups[5] ?? "", trailing = groups[6] ?? ""
        if path == detected { return (path, "") }

        // The id: the one before the name wins over the one after; `UN` (as in UNLICENSE) means the Unlicense.
        var spdx = before.isEmpty ? after : before
        if spdx.caseInsensitiveCompare("UN") == .orderedSame { spdx = "UNLICENSE" }
        // The extension of the path's last component, unless it is part of the name (`.LICENSE`).
        var ext = goExtension(path)
        if !ext.isEmpty && ext.contains(detected) { ext = "" }
        // Untangle an id and an extension that the pattern could not tell apart.
        if !spdx.isEmpty && !ext.isEmpty {
            if ext.contains(spdx) {
                spdx = ""  // `LICENSE.MIT`: the "id" is the extension
            } else if spdx.contains(ext) {
                if !extensionAllowed(ext) && containsDotDigit(spdx) {
                    ext = ""  // `LICENSE-GPL-2.0`: the "extension" `.0` belongs to the id
                } else {
                    spdx = spdx.replacingOccurrences(of: ext, with: "")  // `LICENSE-MIT.txt` → MIT
                }
            } else if ext != trailing {
                spdx += trailing
            }
        }
        // The path must be the match itself, or the match plus the extension; else it only starts like a license.
        if whole != path {
            guard separator == "/" || !spdx.isEmpty, whole + ext == path else { return nil }
            return (path, spdx)
        }
        guard extensionAllowed(ext) else { return nil }
        return (path, spdx)
    }

    /// Go's `filepath.Ext`: from the last dot of the last path component, "" when it has none.
    static func goExtension(_ path: String) -> String {
        for index in path.indices.reversed() {
            switch path[index] {
            case "/": return ""
            case ".": return String(path[index...])
            default: continue
            }
        }
        return ""
    }

    static func extensionAllowed(_ ext: String) -> Bool {
        let lower = ext.lowercased()
        return ext.isEmpty || allowedExtensions.contains { lower.contains($0) }
    }

    static func containsDotDigit(_ text: String) -> Bool {
        zip(text, text.dropFirst()).contains { $0 == "." && ("0"..."9").contains($1) }
    }

    /// The SPDX licenses the official check counts as FSF- or OSI-approved (the SPDX license list's entries marked
    /// OSI-approved or FSF-libre, as the official table has them in v5.5.0), by upper-cased id → name.
    static let approvedLicenses: [String: String] = Dictionary(
        uniqueKeysWithValues: approvedLicenseNames.map { ($0.key.uppercased(), $0.value) })

    private static let approvedLicenseNames: [String: String] = [
        "0BSD": "BSD Zero Clause License",
        "AAL": "Attribution Assurance License",
        "AFL-1.1": "Academic Free License v1.1",
        "AFL-1.2": "Academic Free License v1.2",
        "AFL-2.0": "Academic Free License v2.0",
        "AFL-2.1": "Academic Free License v2.1",
        "AFL-3.0": "Academic Free License v3.0",
        "AGPL-1.0": "Affero General Public License v1.0",
        "AGPL-3.0": "GNU Affero General Public License v3.0",
        "AGPL-3.0-only": "GNU Affero General Public License v3.0 only",
        "AGPL-3.0-or-later": "GNU Affero General Public License v3.0 or later",
        "APL-1.0": "Adaptive Public License 1.0",
        "APSL-1.0": "Apple Public Source License 1.0",
        "APSL-1.1": "Apple Public Source License 1.1",
        "APSL-1.2": "Apple Public Source License 1.2",
        "APSL-2.0": "Apple Public Source License 2.0",
        "Apache-1.0": "Apache License 1.0",
        "Apache-1.1": "Apache License 1.1",
        "Apache-2.0": "Apache License 2.0",
        "Artistic-1.0": "Artistic License 1.0",
        "Artistic-1.0-Perl": "Artistic License 1.0 (Perl)",
        "Artistic-1.0-cl8": "Artistic License 1.0 w/clause 8",
        "Artistic-2.0": "Artistic License 2.0",
        "BSD-1-Clause": "BSD 1-Clause License",
        "BSD-2-Clause": "BSD 2-Clause \"Simplified\" License",
        "BSD-2-Clause-FreeBSD": "BSD 2-Clause FreeBSD License",
        "BSD-2-Clause-NetBSD": "BSD 2-Clause NetBSD License",
        "BSD-2-Clause-Patent": "BSD-2-Clause Plus Patent License",
        "BSD-3-Clause": "BSD 3-Clause \"New\" or \"Revised\" License",
        "BSD-3-Clause-Clear": "BSD 3-Clause Clear License",
        "BSD-3-Clause-LBNL": "Lawrence Berkeley National Labs BSD variant license",
        "BSD-4-Clause": "BSD 4-Clause \"Original\" or \"Old\" License",
        "BSL-1.0": "Boost Software License 1.0",
        "BitTorrent-1.1": "BitTorrent Open Source License v1.1",
        "BlueOak-1.0.0": "Blue Oak Model License 1.0.0",
        "CAL-1.0": "Cryptographic Autonomy License 1.0",
        "CAL-1.0-Combined-Work-Exception": "Cryptographic Autonomy License 1.0 (Combined Work Exception)",
        "CATOSL-1.1": "Computer Associates Trusted Open Source License 1.1",
        "CC-BY-4.0": "Creative Commons Attribution 4.0 International",
        "CC-BY-SA-4.0": "Creative Commons Attribution Share Alike 4.0 International",
        "CC0-1.0": "Creative Commons Zero v1.0 Universal",
        "CDDL-1.0": "Common Development and Distribution License 1.0",
        "CECILL-2.0": "CeCILL Free Software License Agreement v2.0",
        "CECILL-2.1": "CeCILL Free Software License Agreement v2.1",
        "CECILL-B": "CeCILL-B Free Software License Agreement",
        "CECILL-C": "CeCILL-C Free Software License Agreement",
        "CERN-OHL-P-2.0": "CERN Open Hardware Licence Version 2 - Permissive",
        "CERN-OHL-S-2.0": "CERN Open Hardware Licence Version 2 - Strongly Reciprocal",
        "CERN-OHL-W-2.0": "CERN Open Hardware Licence Version 2 - Weakly Reciprocal",
        "CNRI-Python": "CNRI Python License",
        "CPAL-1.0": "Common Public Attribution License 1.0",
        "CPL-1.0": "Common Public License 1.0",
        "CUA-OPL-1.0": "CUA Office Public License v1.0",
        "ClArtistic": "Clarified Artistic License",
        "Condor-1.1": "Condor Public License v1.1",
        "ECL-1.0": "Educational Community License v1.0",
        "ECL-2.0": "Educational Community License v2.0",
        "EFL-1.0": "Eiffel Forum License v1.0",
        "EFL-2.0": "Eiffel Forum License v2.0",
        "EPL-1.0": "Eclipse Public License 1.0",
        "EPL-2.0": "Eclipse Public License 2.0",
        "EUDatagrid": "EU DataGrid Software License",
        "EUPL-1.1": "European Union Public License 1.1",
        "EUPL-1.2": "European Union Public License 1.2",
        "Entessa": "Entessa Public License v1.0",
        "FSFAP": "FSF All Permissive License",
        "FTL": "Freetype Project License",
        "Fair": "Fair License",
        "Frameworx-1.0": "Frameworx Open License 1.0",
        "GFDL-1.1": "GNU Free Documentation License v1.1",
        "GFDL-1.1-only": "GNU Free Documentation License v1.1 only",
        "GFDL-1.1-or-later": "GNU Free Documentation License v1.1 or later",
        "GFDL-1.2": "GNU Free Documentation License v1.2",
        "GFDL-1.2-only": "GNU Free Documentation License v1.2 only",
        "GFDL-1.2-or-later": "GNU Free Documentation License v1.2 or later",
        "GFDL-1.3": "GNU Free Documentation License v1.3",
        "GFDL-1.3-only": "GNU Free Documentation License v1.3 only",
        "GFDL-1.3-or-later": "GNU Free Documentation License v1.3 or later",
        "GPL-2.0": "GNU General Public License v2.0 only",
        "GPL-2.0+": "GNU General Public License v2.0 or later",
        "GPL-2.0-only": "GNU General Public License v2.0 only",
        "GPL-2.0-or-later": "GNU General Public License v2.0 or later",
        "GPL-3.0": "GNU General Public License v3.0 only",
        "GPL-3.0+": "GNU General Public License v3.0 or later",
        "GPL-3.0-only": "GNU General Public License v3.0 only",
        "GPL-3.0-or-later": "GNU General Public License v3.0 or later",
        "GPL-3.0-with-GCC-exception": "GNU General Public License v3.0 w/GCC Runtime Library exception",
        "HPND": "Historical Permission Notice and Disclaimer",
        "ICU": "ICU License",
        "IJG": "Independent JPEG Group License",
        "IPA": "IPA Font License",
        "IPL-1.0": "IBM Public License v1.0",
        "ISC": "ISC License",
        "Imlib2": "Imlib2 License",
        "Intel": "Intel Open Source License",
        "Jam": "Jam License",
        "LGPL-2.0": "GNU Library General Public License v2 only",
        "LGPL-2.0+": "GNU Library General Public License v2 or later",
        "LGPL-2.0-only": "GNU Library General Public License v2 only",
        "LGPL-2.0-or-later": "GNU Library General Public License v2 or later",
        "LGPL-2.1": "GNU Lesser General Public License v2.1 only",
        "LGPL-2.1+": "GNU Lesser General Public License v2.1 or later",
        "LGPL-2.1-only": "GNU Lesser General Public License v2.1 only",
        "LGPL-2.1-or-later": "GNU Lesser General Public License v2.1 or later",
        "LGPL-3.0": "GNU Lesser General Public License v3.0 only",
        "LGPL-3.0+": "GNU Lesser General Public License v3.0 or later",
        "LGPL-3.0-only": "GNU Lesser General Public License v3.0 only",
        "LGPL-3.0-or-later": "GNU Lesser General Public License v3.0 or later",
        "LPL-1.0": "Lucent Public License Version 1.0",
        "LPL-1.02": "Lucent Public License v1.02",
        "LPPL-1.2": "LaTeX Project Public License v1.2",
        "LPPL-1.3a": "LaTeX Project Public License v1.3a",
        "LPPL-1.3c": "LaTeX Project Public License v1.3c",
        "LiLiQ-P-1.1": "Licence Libre du Québec – Permissive version 1.1",
        "LiLiQ-R-1.1": "Licence Libre du Québec – Réciprocité version 1.1",
        "LiLiQ-Rplus-1.1": "Licence Libre du Québec – Réciprocité forte version 1.1",
        "MIT": "MIT License",
        "MIT-0": "MIT No Attribution",
        "MIT-Modern-Variant": "MIT License Modern Variant",
        "MPL-1.0": "Mozilla Public License 1.0",
        "MPL-1.1": "Mozilla Public License 1.1",
        "MPL-2.0": "Mozilla Public License 2.0",
        "MPL-2.0-no-copyleft-exception": "Mozilla Public License 2.0 (no copyleft exception)",
        "MS-PL": "Microsoft Public License",
        "MS-RL": "Microsoft Reciprocal License",
        "MirOS": "The MirOS Licence",
        "Motosoto": "Motosoto License",
        "MulanPSL-2.0": "Mulan Permissive Software License, Version 2",
        "Multics": "Multics License",
        "NASA-1.3": "NASA Open Source Agreement 1.3",
        "NCSA": "University of Illinois/NCSA Open Source License",
        "NGPL": "Nethack General Public License",
        "NOSL": "Netizen Open Source License",
        "NPL-1.0": "Netscape Public License v1.0",
        "NPL-1.1": "Netscape Public License v1.1",
        "NPOSL-3.0": "Non-Profit Open Software License 3.0",
        "NTP": "NTP License",
        "Naumen": "Naumen Public License",
        "Nokia": "Nokia Open Source License",
        "Nunit": "Nunit License",
        "OCLC-2.0": "OCLC Research Public License 2.0",
        "ODbL-1.0": "Open Data Commons Open Database License v1.0",
        "OFL-1.0": "SIL Open Font License 1.0",
        "OFL-1.1": "SIL Open Font License 1.1",
        "OFL-1.1-RFN": "SIL Open Font License 1.1 with Reserved Font Name",
        "OFL-1.1-no-RFN": "SIL Open Font License 1.1 with no Reserved Font Name",
        "OGTSL": "Open Group Test Suite License",
        "OLDAP-2.3": "Open LDAP Public License v2.3",
        "OLDAP-2.7": "Open LDAP Public License v2.7",
        "OLDAP-2.8": "Open LDAP Public License v2.8",
        "OLFL-1.3": "Open Logistics Foundation License Version 1.3",
        "OSET-PL-2.1": "OSET Public License version 2.1",
        "OSL-1.0": "Open Software License 1.0",
        "OSL-1.1": "Open Software License 1.1",
        "OSL-2.0": "Open Software License 2.0",
        "OSL-2.1": "Open Software License 2.1",
        "OSL-3.0": "Open Software License 3.0",
        "OpenSSL": "OpenSSL License",
        "PHP-3.0": "PHP License v3.0",
        "PHP-3.01": "PHP License v3.01",
        "PostgreSQL": "PostgreSQL License",
        "Python-2.0": "Python License 2.0",
        "QPL-1.0": "Q Public License 1.0",
        "RPL-1.1": "Reciprocal Public License 1.1",
        "RPL-1.5": "Reciprocal Public License 1.5",
        "RPSL-1.0": "RealNetworks Public Source License v1.0",
        "RSCPL": "Ricoh Source Code Public License",
        "Ruby": "Ruby License",
        "SGI-B-2.0": "SGI Free Software License B v2.0",
        "SISSL": "Sun Industry Standards Source License v1.1",
        "SMLNJ": "Standard ML of New Jersey License",
        "SPL-1.0": "Sun Public License v1.0",
        "SimPL-2.0": "Simple Public License 2.0",
        "Sleepycat": "Sleepycat License",
        "StandardML-NJ": "Standard ML of New Jersey License",
        "UCL-1.0": "Upstream Compatibility License v1.0",
        "UPL-1.0": "Universal Permissive License v1.0",
        "Unicode-3.0": "Unicode License v3",
        "Unicode-DFS-2016": "Unicode License Agreement - Data Files and Software (2016)",
        "Unlicense": "The Unlicense",
        "VSL-1.0": "Vovida Software License v1.0",
        "Vim": "Vim License",
        "W3C": "W3C Software Notice and License (2002-12-31)",
        "W3C-20150513": "W3C Software Notice and Document License (2015-05-13)",
        "WTFPL": "Do What The F*ck You Want To Public License",
        "Watcom-1.0": "Sybase Open Watcom Public License 1.0",
        "X11": "X11 License",
        "XFree86-1.1": "XFree86 License 1.1",
        "Xnet": "X.Net License",
        "YPL-1.1": "Yahoo! Public License v1.1",
        "ZPL-2.0": "Zope Public License 2.0",
        "ZPL-2.1": "Zope Public License 2.1",
        "Zend-2.0": "Zend License v2.0",
        "Zimbra-1.3": "Zimbra Public License v1.3",
        "Zlib": "zlib License",
        "eCos-2.0": "eCos license version 2.0",
        "gnuplot": "gnuplot License",
        "iMatix": "iMatix Standard Function Library Agreement",
        "wxWindows": "wxWindows Library License",
        "xinetd": "xinetd License",
    ]
}
