import Foundation
import Scorecard
import ScorecardChecks
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

@Suite struct LicenseTests {
    @Test func noLicenseScoresZero() throws {
        #expect(try Fixture(["README.md": "x"]).run(LicenseCheck()).score == 0)
    }

    @Test func recognisedLicenseTextScoresTen() throws {
        let mit = "MIT License\n\nCopyright (c) 2024\n\nPermission is hereby granted, free of charge, to any person obtaining a copy"
        let result = try Fixture(["LICENSE": mit]).run(LicenseCheck())
        #expect(result.score == 10)
        #expect(result.reason == "license file detected")
    }

    @Test func spdxIdInTheFileNameScoresTen() throws {
        #expect(try Fixture(["LICENSE-APACHE-2.0.txt": "see the Apache web site"]).run(LicenseCheck()).score == 10)
        #expect(try Fixture(["COPYING": "SPDX-License-Identifier: GPL-3.0-or-later\n"]).run(LicenseCheck()).score == 10)
    }

    @Test func unknownLicenseScoresNine() throws {
        #expect(try Fixture(["LICENSE.md": "All rights reserved. Do not copy."]).run(LicenseCheck()).score == 9)
    }

    @Test func nestedOrOddNamesAreNotLicenseFiles() throws {
        #expect(try Fixture(["src/LICENSE": "MIT", "license.yaml": "x: 1"]).run(LicenseCheck()).score == 0)
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
