import Foundation
import Scorecard
@testable import ScorecardChecks
import Testing

@Suite struct SecurityPolicyTests {
    @Test func missingPolicyScoresZero() throws {
        let result = try Fixture(["README.md": "hello"]).run(SecurityPolicyCheck())
        #expect(result.score == 0)
        #expect(result.reason == "security policy file not detected")
    }

    @Test func policyWithContactTextAndDisclosureScoresTen() throws {
        let policy = """
            # Security Policy
            Please report vulnerabilities privately to security@example.org or through
            https://github.com/example/project/security/advisories/new. We acknowledge reports within 3 days
            and publish a fix and disclosure within 90 days.
            """
        let result = try Fixture(["SECURITY.md": policy]).run(SecurityPolicyCheck())
        #expect(result.score == 10)
        #expect(result.reason == "security policy file detected")
    }

    @Test func policyWithoutContactLosesTheLinkPoints() throws {
        let policy = "Report vulnerabilities to the maintainers; we disclose fixes after 30 days.\n"
        let result = try Fixture([".github/SECURITY.md": policy]).run(SecurityPolicyCheck())
        #expect(result.score == 4)  // text 3 + disclosure hints 1, no link or e-mail
    }

    @Test func onlyALinkScoresSix() throws {
        let result = try Fixture(["docs/security.md": "https://example.org/sec"]).run(SecurityPolicyCheck())
        #expect(result.score == 6)
    }
}

/// License as the official `scorecard --local` scores it (v5.4/v5.5): the file is found by its name, and the +1 for an
/// FSF/OSI license comes only from an SPDX id in that name; the text is never read.
@Suite struct LicenseTests {
    static let mitText = """
        MIT License

        Copyright (c) 2024 Example

        Permission is hereby granted, free of charge, to any person obtaining a copy
        """

    @Test func noLicenseScoresZero() throws {
        let result = try Fixture(["README.md": "x"]).run(LicenseCheck())
        #expect(result.score == 0)
        #expect(result.reason == "license file not detected")
        #expect(result.details == ["Warn: project does not have a license file"])
    }

    /// The case users compare with the official CLI: a plain `LICENSE` holding the MIT text.
    @Test func plainLicenseWithMITTextScoresNine() throws {
        let result = try Fixture(["LICENSE": Self.mitText]).run(LicenseCheck())
        #expect(result.score == 9)
        #expect(result.reason == "license file detected")
        #expect(result.details == [
            "Info: project has a license file: LICENSE:0",
            "Warn: project license file does not contain an FSF or OSI license.",
        ])
    }

    @Test func anSPDXLineInTheTextDoesNotCount() throws {
        let result = try Fixture(["COPYING": "SPDX-License-Identifier: GPL-3.0-or-later\n"]).run(LicenseCheck())
        #expect(result.score == 9)
        #expect(try Fixture(["LICENSE.md": "All rights reserved. Do not copy."]).run(LicenseCheck()).score == 9)
    }

    @Test func anApprovedSPDXIdInTheFileNameScoresTen() throws {
        let mit = try Fixture(["LICENSE-MIT": Self.mitText]).run(LicenseCheck())
        #expect(mit.score == 10)
        #expect(mit.details == [
            "Info: project has a license file: LICENSE-MIT:0",
            "Info: FSF or OSI recognized license: MIT License: LICENSE-MIT:0",
        ])
        let cases: [(String, String)] = [
            ("MIT-LICENSE", "MIT License"),
            ("LICENSE-APACHE-2.0.txt", "Apache License 2.0"),  // the id is matched case-insensitively
            ("LICENSE_GPL-2.0", "GNU General Public License v2.0 only"),  // `.0` is part of the id, not an extension
            ("UNLICENSE", "The Unlicense"),
            ("LICENSES/MIT.txt", "MIT License"),  // a file in a LICENSES folder: the id is its name
            ("Licenses/BSD-3-Clause.md", "BSD 3-Clause \"New\" or \"Revised\" License"),
        ]
        for (path, name) in cases {
            let result = try Fixture([path: "text"]).run(LicenseCheck())
            #expect(result.score == 10, "\(path)")
            #expect(result.details?.last == "Info: FSF or OSI recognized license: \(name): \(path):0", "\(path)")
        }
    }

    @Test func anIdThatIsNoApprovedLicenseScoresNine() throws {
        #expect(try Fixture(["LICENSE-binary": "x"]).run(LicenseCheck()).score == 9)
        #expect(try Fixture(["APACHE_LICENSE": "x"]).run(LicenseCheck()).score == 9)  // `APACHE` is no SPDX id
        let folder = try Fixture(["LICENSES/README.md": "x"]).run(LicenseCheck())
        #expect(folder.score == 9)
        #expect(folder.details?.first == "Info: project has a license file: LICENSES/README.md:0")
    }

    /// `LICENSE.MIT`: the official rules take `.MIT` for an extension (which is then not an allowed one), not for an
    /// id, so the file is no license file at all.
    @Test func anIdWrittenAsTheExtensionIsNoLicenseFile() throws {
        #expect(try Fixture(["LICENSE.MIT": Self.mitText]).run(LicenseCheck()).score == 0)
        #expect(try Fixture(["LICENSE.MIT": Self.mitText, "COPYING": "x"]).run(LicenseCheck()).score == 9)
    }

    @Test func onlyTheTopLevelCounts() throws {
        let nested = try Fixture(["src/LICENSE": Self.mitText, "docs/LICENSE-MIT": "x", "vendor/x/COPYING": "x"])
        #expect(try nested.run(LicenseCheck()).score == 0)
        #expect(try Fixture(["license.yaml": "x: 1", "licenserc.yaml": "x: 1"]).run(LicenseCheck()).score == 0)
        #expect(try Fixture(["LICENSES/sub/MIT.txt": "x"]).run(LicenseCheck()).score == 0)
    }

    /// The first license file in the official walk's order is the one scored (depth first, names sorted): a
    /// `LICENSE/` folder comes before `LICENSE-MIT`, and `COPYING` before both.
    @Test func theFirstLicenseFileInWalkOrderIsScored() throws {
        let folderFirst = try Fixture(["LICENSE-MIT": "x", "LICENSE/GPL-3.0.txt": "x"]).run(LicenseCheck())
        #expect(folderFirst.details == [
            "Info: project has a license file: LICENSE/GPL-3.0.txt:0",
            "Info: FSF or OSI recognized license: GNU General Public License v3.0 only: LICENSE/GPL-3.0.txt:0",
        ])
        let copying = try Fixture(["COPYING": "x", "LICENSE-MIT": "x"]).run(LicenseCheck())
        #expect(copying.score == 9)
        #expect(copying.details?.first == "Info: project has a license file: COPYING:0")
    }

    /// The names of the official rules' own test table (checks/raw/license_test.go), a sample of each kind.
    @Test func officialNameRules() {
        let accepted = [
            "LICENSE", "LICENCE.adoc", "COPYING.docx", "COPYING-MIT", "MIT-LICENSE-MIT", "MIT-COPYING", "LPPL-1.3clicences",
            "LICENSE_LPPL-1.3c.md", "PATENTS.txt", "APACHE_LICENSETEXT.md", "COPYRIGHT.txt", "GPL2LICENCES", "GPLLICENCE",
            "LICENSE-ASL.txt", "license-CC-BY-4.0.xml", "LICENSE-junit.txt", "LICENSES.txt", "LICENSES/Apache-2.0.txt",
            "Licenses/GPL-3.0.md", "MIT_.0_LICENSE", "mit.2.0.0.LICENSE", "UNLICENSE.md", "license.md", "unlicense",
        ]
        let rejected = [
            "OFL", "OFL.md", "Artistic-1.0-Perl LICENSE", "GPLv1", "GPL-3.0", ".copyrightignore", ".licenserc.yaml",
            ".github/workflows/license.yml", "LICENSE,", "examples-trunk/LICENSE", "static/fonts/OFL.txt", "license.yaml",
            "licenserc.yaml", "content/dev/apply-license.md", ".baseline/copyright/001_apache-2.0.txt",
        ]
        for name in accepted { #expect(LicenseCheck.match(name) != nil, "\(name)") }
        for name in rejected { #expect(LicenseCheck.match(name) == nil, "\(name)") }
    }
}

@Suite struct BinaryArtifactsTests {
    @Test func noBinariesScoresTen() throws {
        let result = try Fixture(["main.c": "int main(void) { return 0; }\n"]).run(BinaryArtifactsCheck())
        #expect(result.score == 10)
        #expect(result.reason == "no binaries found in the repo")
    }

    @Test func eachBinaryCostsOnePoint() throws {
        let fixture = try Fixture()
        try fixture.write("tool", Data([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 64)))  // ELF, no extension
        try fixture.write("win/app.exe", Data([0x4D, 0x5A, 0x90, 0x00, 0x03]))
        try fixture.write("libs/dep.jar", Data([0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x08, 0x00]))  // zip content, .jar name
        try fixture.write("notes.jar", Data("just text\n".utf8))  // a text file with a binary extension is not counted
        let result = try fixture.run(BinaryArtifactsCheck())
        #expect(result.score == 7)
        #expect(result.reason == "binaries present in source code")
        #expect(result.details?.contains("Warn: binary detected: libs/dep.jar:0") == true)
    }
}

/// Test data (`testdata/`, `src/test/`, at any depth) is skipped by the official checks that read file contents.
@Suite struct TestDataTests {
    @Test func binariesAndScriptsInTestDataAreNotCounted() throws {
        let fixture = try Fixture([
            "Dockerfile": "FROM alpine:3.20\n",
            "checks/testdata/Dockerfile-not-pinned": "FROM debian:12\nRUN curl -sSL https://example.org/i.sh | sh\n",
            "testdata/install.sh": "#!/bin/sh\npip install requests\n",
            "module/src/test/resources/fuzz_test.go": "package x\nfunc FuzzX(f *testing.F) {}\n",
        ])
        let elf = Data([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 64))
        try fixture.write("checks/testdata/binaryartifacts/tool", elf)
        try fixture.write("src/test/lib.jar", Data([0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x08, 0x00]))
        #expect(try fixture.run(BinaryArtifactsCheck()).score == 10)
        let pinned = try fixture.run(PinnedDependenciesCheck())
        #expect(pinned.score == 0)  // the one image outside test data, unpinned
        #expect(pinned.details?.filter { $0.hasPrefix("Warn:") } == ["Warn: containerImage not pinned by hash: Dockerfile:1"])
        #expect(try fixture.run(FuzzingCheck()).score == 0)
        // Outside test data the same files count (`tests/` and `test/` are not test data).
        try fixture.write("tests/tool", elf)
        #expect(try fixture.run(BinaryArtifactsCheck()).score == 9)
    }
}

@Suite struct DependencyUpdateToolTests {
    @Test func dependabotOrRenovateScoresTen() throws {
        #expect(try Fixture([".github/dependabot.yml": "version: 2\n"]).run(DependencyUpdateToolCheck()).score == 10)
        #expect(try Fixture(["renovate.json": "{}"]).run(DependencyUpdateToolCheck()).score == 10)
        #expect(try Fixture([".github/renovate.json5": "{}"]).run(DependencyUpdateToolCheck()).score == 10)
    }

    @Test func noToolScoresZero() throws {
        let result = try Fixture(["dependabot.yml": "misplaced"]).run(DependencyUpdateToolCheck())
        #expect(result.score == 0)
        #expect(result.reason == "no update tool detected")
    }
}

@Suite struct FuzzingTests {
    @Test func notFuzzedScoresZero() throws {
        let result = try Fixture(["main.go": "package main\nfunc main() {}\n"]).run(FuzzingCheck())
        #expect(result.score == 0)
        #expect(result.reason == "project is not fuzzed")
    }

    @Test func clusterFuzzLiteGoSwiftAndCHarnessesCount() throws {
        #expect(try Fixture([".clusterfuzzlite/Dockerfile": "FROM x"]).run(FuzzingCheck()).score == 10)
        let go = "package p\nimport \"testing\"\nfunc FuzzParse(f *testing.F) {}\n"
        #expect(try Fixture(["p/parse_test.go": go]).run(FuzzingCheck()).score == 10)
        let swift = "@_cdecl(\"LLVMFuzzerTestOneInput\") public func fuzz(_ d: UnsafePointer<UInt8>, _ n: Int) -> CInt { 0 }"
        #expect(try Fixture(["Fuzz/main.swift": swift]).run(FuzzingCheck()).score == 10)
        #expect(try Fixture(["fuzz/f.c": "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }"]).run(FuzzingCheck()).score == 10)
    }

    @Test func goFuzzFunctionOutsideTestFilesDoesNotCount() throws {
        let go = "package p\nfunc FuzzParse(f *testing.F) {}\n"
        #expect(try Fixture(["p/parse.go": go]).run(FuzzingCheck()).score == 0)
    }
}
