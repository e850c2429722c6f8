import Foundation
import Scorecard
@testable import ScorecardChecks
import Testing

private let sha = "b4ffde65f46336ab88eb53be808477a3936bae11"

@Suite struct TokenPermissionsTests {
    @Test func noWorkflowsIsInconclusive() throws {
        let result = try Fixture(["README.md": "x"]).run(TokenPermissionsCheck())
        #expect(result.score == -1)
        #expect(result.reason == "No tokens found")
    }

    @Test func readAllAtTopLevelScoresTen() throws {
        let yaml = """
            on: [push]
            permissions: read-all
            jobs:
              build:
                runs-on: ubuntu-latest
                steps:
                  - run: make
            """
        let result = try Fixture([".github/workflows/ci.yml": yaml]).run(TokenPermissionsCheck())
        #expect(result.score == 10)
        #expect(result.reason == "GitHub workflow tokens follow principle of least privilege")
    }

    @Test func writeAllAtTopLevelWithUndeclaredJobScoresZero() throws {
        let yaml = """
            on: push
            permissions: write-all
            jobs:
              build:
                runs-on: ubuntu-latest
                steps:
                  - run: make
            """
        #expect(try Fixture([".github/workflows/ci.yml": yaml]).run(TokenPermissionsCheck()).score == 0)
    }

    @Test func missingPermissionsScoresLower() throws {
        // Top level undeclared and a job undeclared: 0, as the official evaluation.
        let undeclared = """
            on: push
            jobs:
              build:
                runs-on: ubuntu-latest
                steps:
                  - run: make
            """
        let zero = try Fixture([".github/workflows/ci.yml": undeclared]).run(TokenPermissionsCheck())
        #expect(zero.score == 0)
        // The job's missing permissions are a debug line, which the official CLI does not print by default.
        #expect(zero.details == ["Warn: no topLevel permission defined: .github/workflows/ci.yml:1", "Info: no jobLevel write permissions found"])
        // Top level undeclared but every job declares read: −0.5 → 9.
        let jobsDeclared = """
            on: push
            jobs:
              build:
                permissions:
                  contents: read
                runs-on: ubuntu-latest
                steps:
                  - run: make
            """
        let result = try Fixture([".github/workflows/ci.yml": jobsDeclared]).run(TokenPermissionsCheck())
        #expect(result.score == 9)
        #expect(result.reason == "detected GitHub workflow tokens with excessive permissions")
    }

    @Test func jobLevelWriteOnANonReleaseJob() throws {
        let yaml = """
            on: push
            permissions:
              contents: read
            jobs:
              label:
                permissions:
                  contents: write
                runs-on: ubuntu-latest
                steps:
                  - run: echo hi
            """
        let result = try Fixture([".github/workflows/label.yml": yaml]).run(TokenPermissionsCheck())
        // The official evaluation only warns for a job-level write under a read-only top level.
        #expect(result.score == 10)
        #expect(result.details?.contains("Warn: jobLevel 'contents' permission set to 'write': .github/workflows/label.yml:7") == true)
    }

    @Test func topLevelContentsWriteScoresZeroAndChecksWriteLosesHalf() throws {
        let contents = "on: push\npermissions:\n  contents: write\njobs:\n  a:\n    permissions: {}\n    runs-on: x\n    steps:\n      - run: ls\n"
        #expect(try Fixture([".github/workflows/a.yml": contents]).run(TokenPermissionsCheck()).score == 0)
        let checks = "on: push\npermissions:\n  checks: write\n  deployments: write\njobs:\n  a:\n    permissions: {}\n    runs-on: x\n    steps:\n      - run: ls\n"
        #expect(try Fixture([".github/workflows/a.yml": checks]).run(TokenPermissionsCheck()).score == 8)  // 10 − 0.5 − 1
    }

    @Test func releaseJobMayWriteContents() throws {
        let yaml = """
            on: push
            permissions: read-all
            jobs:
              release:
                permissions:
                  contents: write
                runs-on: ubuntu-latest
                steps:
                  - uses: actions/setup-go@\(sha)
                  - uses: goreleaser/goreleaser-action@\(sha)
            """
        let result = try Fixture([".github/workflows/release.yml": yaml]).run(TokenPermissionsCheck())
        #expect(result.score == 10)
        #expect(result.details?.contains { $0.hasPrefix("Warn:") } == false)
    }

    @Test func brokenYAMLIsAnInternalError() throws {
        let result = try Fixture([".github/workflows/bad.yml": "on: [push\njobs: {"]).run(TokenPermissionsCheck())
        #expect(result.score == -1)
        #expect(result.reason.hasPrefix("internal error:"))
    }
}

@Suite struct DangerousWorkflowTests {
    @Test func pullRequestTargetCheckingOutTheHeadScoresZero() throws {
        let yaml = """
            on: pull_request_target
            jobs:
              test:
                runs-on: ubuntu-latest
                steps:
                  - uses: actions/checkout@v4
                    with:
                      ref: ${{ github.event.pull_request.head.sha }}
                  - run: make test
            """
        let result = try Fixture([".github/workflows/pr.yml": yaml]).run(DangerousWorkflowCheck())
        #expect(result.score == 0)
        #expect(result.reason == "dangerous workflow patterns detected")
    }

    @Test func scriptInjectionOfAnIssueTitleScoresZero() throws {
        let yaml = """
            on:
              issues:
                types: [opened]
            jobs:
              greet:
                runs-on: ubuntu-latest
                steps:
                  - run: echo "${{ github.event.issue.title }}"
            """
        let result = try Fixture([".github/workflows/issue.yml": yaml]).run(DangerousWorkflowCheck())
        #expect(result.score == 0)
        #expect(result.details?.first?.hasPrefix("Warn: script injection with untrusted input") == true)
    }

    @Test func safeWorkflowsScoreTenAndNoWorkflowIsInconclusive() throws {
        let yaml = """
            on: pull_request_target
            jobs:
              label:
                runs-on: ubuntu-latest
                steps:
                  - uses: actions/checkout@v4
                  - run: echo "${{ github.event.pull_request.number }}"
                    env:
                      TITLE: ${{ github.event.pull_request.title }}
            """
        #expect(try Fixture([".github/workflows/ok.yml": yaml]).run(DangerousWorkflowCheck()).score == 10)
        #expect(try Fixture(["a.txt": "x"]).run(DangerousWorkflowCheck()).score == -1)
    }
}

@Suite struct PinnedDependenciesTests {
    @Test func actionsPinnedBySHAScoreTenAndTagsDoNot() throws {
        let pinned = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@\(sha)\n      - uses: ./local-action\n"
        let result = try Fixture([".github/workflows/a.yml": pinned]).run(PinnedDependenciesCheck())
        #expect(result.score == 10)
        #expect(result.reason == "all dependencies are pinned")
        // GitHub-owned pinned (weight 2), third-party by tag (weight 8): 10·2/10 = 2.
        let mixed = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@\(sha)\n      - uses: some/action@v1\n"
        let mixedResult = try Fixture([".github/workflows/a.yml": mixed]).run(PinnedDependenciesCheck())
        #expect(mixedResult.score == 2)
        #expect(mixedResult.reason == "dependency not pinned by hash detected -- score normalized to 2")
    }

    @Test func curlPipedToShellIsNeverPinned() throws {
        let yaml = """
            on: push
            jobs:
              a:
                runs-on: ubuntu-latest
                steps:
                  - uses: actions/checkout@\(sha)
                  - run: |
                      curl -sSfL https://example.org/install.sh | sh
            """
        let result = try Fixture([".github/workflows/a.yml": yaml]).run(PinnedDependenciesCheck())
        #expect(result.score == 5)  // actions 1/1, downloadThenRun 0/1, each weight 10
        #expect(result.details?.contains("Warn: downloadThenRun not pinned by hash: .github/workflows/a.yml:7") == true)
    }

    @Test func dockerfileFromMustBePinnedByDigest() throws {
        let dockerfile = """
            FROM golang:1.22 AS build
            RUN go build ./...
            FROM gcr.io/distroless/static@sha256:\(String(repeating: "a", count: 64))
            COPY --from=build /app /app
            FROM build AS test
            FROM scratch
            """
        let result = try Fixture(["Dockerfile": dockerfile]).run(PinnedDependenciesCheck())
        // As the official check, `FROM build AS test` is a dependency too, unpinned as `build` was: 1 of 3 pinned.
        #expect(result.score == 3)
        #expect(result.details?.contains("Warn: containerImage not pinned by hash: Dockerfile:1") == true)
        #expect(result.details?.contains("Warn: containerImage not pinned by hash: Dockerfile:5") == true)
    }

    @Test func dockerfileStagesAndArgumentsFollowTheirImage() throws {
        let digest = String(repeating: "b", count: 64)
        let dockerfile = """
            ARG BASE=golang@sha256:\(digest)
            FROM ${BASE} AS base
            FROM base AS build
            FROM scratch AS empty
            FROM empty
            """
        let result = try Fixture(["Dockerfile": dockerfile]).run(PinnedDependenciesCheck())
        #expect(result.score == 10)
        #expect(result.details == ["Info:   3 out of   3 containerImage dependencies pinned"])
    }

    @Test func packageManagersInScripts() throws {
        let fixture = try Fixture([
            "scripts/setup.sh": "#!/bin/sh\npip install -r requirements.txt\npip install --require-hashes -r req.txt\nnpm ci\n",
        ])
        let result = try fixture.run(PinnedDependenciesCheck())
        // pip 1/2 and npm 1/1 → 10·(1+1)/(2+1) = 6
        #expect(result.score == 6)
    }

    /// The official pip rules: only hashes, wheels alone, or an editable install with `--no-deps` from a local or
    /// commit-pinned source count as pinned; `.`, `-e .` and `--upgrade pip` do not.
    @Test func pipInstallsAsTheOfficialRules() throws {
        let sha = String(repeating: "c", count: 40)
        let pinned = [
            "pip install --require-hashes -r requirements.txt", "pip install dist/app-1.0-py3-none-any.whl",
            "pip install --no-deps -e .", "pip install --no-deps -e git+https://example.org/x.git@\(sha)",
            "python -m pip install --require-hashes -r r.txt",
        ]
        let unpinned = [
            "pip install .", "pip install -e .", "pip install --upgrade pip", "pip install -r requirements.txt",
            "pip install --no-deps -e git+https://example.org/x.git@main", "pip install x.whl requests",
        ]
        for command in pinned {
            #expect(ShellScript.uses(command).map(\.pinned) == [true], "\(command)")
        }
        for command in unpinned {
            #expect(ShellScript.uses(command).map(\.pinned) == [false], "\(command)")
        }
    }

    @Test func noDependenciesIsInconclusive() throws {
        #expect(try Fixture(["a.c": "int x;"]).run(PinnedDependenciesCheck()).score == -1)
    }
}

@Suite struct SASTTests {
    @Test func codeQLWorkflowScoresTen() throws {
        let yaml = """
            on: push
            jobs:
              analyze:
                runs-on: ubuntu-latest
                steps:
                  - uses: github/codeql-action/init@v3
                  - uses: github/codeql-action/analyze@v3
            """
        let result = try Fixture([".github/workflows/codeql.yml": yaml]).run(SASTCheck())
        #expect(result.score == 10)
        #expect(result.reason == "SAST tool detected: CodeQL")
    }

    @Test func otherToolsScoreTenAndNoneScoresZero() throws {
        let snyk = "on: push\njobs:\n  s:\n    runs-on: x\n    steps:\n      - uses: snyk/actions/node@master\n"
        #expect(try Fixture([".github/workflows/s.yml": snyk]).run(SASTCheck()).score == 10)
        let plain = "on: push\njobs:\n  s:\n    runs-on: x\n    steps:\n      - run: make\n"
        let result = try Fixture([".github/workflows/s.yml": plain]).run(SASTCheck())
        #expect(result.score == 0)
        #expect(result.reason == "no SAST tool detected")
    }
}

@Suite struct PackagingTests {
    @Test func publishingWorkflowScoresTen() throws {
        let yaml = """
            on:
              release:
                types: [published]
            jobs:
              publish:
                runs-on: ubuntu-latest
                steps:
                  - uses: actions/setup-node@v4
                    with:
                      registry-url: https://registry.npmjs.org
                  - run: npm publish --provenance
            """
        let result = try Fixture([".github/workflows/publish.yml": yaml]).run(PackagingCheck())
        #expect(result.score == 10)
        #expect(result.reason == "packaging workflow detected")
        let pypi = "on: push\njobs:\n  p:\n    runs-on: x\n    steps:\n      - uses: pypa/gh-action-pypi-publish@release/v1\n"
        #expect(try Fixture([".github/workflows/p.yml": pypi]).run(PackagingCheck()).score == 10)
    }

    @Test func noPublishingWorkflowIsInconclusive() throws {
        // npm publish without the npm registry set up in setup-node is not the official npm matcher.
        let yaml = "on: push\njobs:\n  p:\n    runs-on: x\n    steps:\n      - uses: actions/setup-node@v4\n      - run: npm test\n"
        let result = try Fixture([".github/workflows/p.yml": yaml]).run(PackagingCheck())
        #expect(result.score == -1)
        #expect(result.reason == "packaging workflow not detected")
    }
}

@Suite struct VulnerabilitiesTests {
    @Test func offlineWithoutDatabaseIsInconclusive() throws {
        let result = try Fixture(["go.sum": "golang.org/x/text v0.3.0 h1:x\n"]).run(VulnerabilitiesCheck())
        #expect(result.score == -1)
        #expect(result.reason == "inconclusive: no vulnerability database offline")
    }

    @Test func lockedPackagesAreMatchedAgainstALocalOSVFolder() throws {
        let osv = try Fixture([
            "GO-2021-0113.json": """
                {"id":"GO-2021-0113","affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/text"},
                 "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.3.7"}]}]}]}
                """,
            "RUSTSEC-1.json": """
                {"id":"RUSTSEC-1","affected":[{"package":{"ecosystem":"crates.io","name":"smallvec"},"versions":["1.6.0"]}]}
                """,
            "other.json": #"{"id":"NPM-1","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"versions":["9.9.9"]}]}"#,
        ])
        let repo = try Fixture([
            "go.sum": "golang.org/x/text v0.3.0 h1:abc=\ngolang.org/x/text v0.3.0/go.mod h1:def=\n",
            "Cargo.lock": "[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\n",
            "package-lock.json": #"{"packages":{"node_modules/left-pad":{"version":"1.3.0"}}}"#,
        ])
        let result = VulnerabilitiesCheck().run(try repo.context(osv: osv.root))
        #expect(result.score == 8)
        #expect(result.reason == "2 existing vulnerabilities detected")
    }
}
