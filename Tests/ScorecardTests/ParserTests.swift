import Foundation
import Scorecard
import Testing

/// The two real `scorecard --format json` outputs of ../shared/scorecard-fixtures (copied into Fixtures/).
enum Fixture: String, CaseIterable, Sendable {
    /// github.com/ossf/scorecard, v5.0.0-rc2, `--show-details`, pretty-printed by its author; aggregate 9.6.
    case ossf = "example-1-github.com-ossf-scorecard"
    /// github.com/expadox/docutrust, v5.1.1, no details, one line as the CLI writes it; aggregate 2.6.
    case docutrust = "example-2-github.com-expadox-docutrust"

    var url: URL {
        get throws {
            try #require(Bundle.module.url(forResource: rawValue, withExtension: "json", subdirectory: "Fixtures"))
        }
    }

    var data: Data { get throws { try Data(contentsOf: url) } }

    var printedScore: Double {
        switch self {
        case .ossf: 9.6
        case .docutrust: 2.6
        }
    }
}

/// Every official check name (SOURCES.md): both fixtures hold all 18.
let officialChecks: Set<String> = Set(ScorecardRisk.byCheck.keys)

@Suite("Scorecard JSON v2 parser")
struct ParserTests {
    @Test("both real outputs parse: every check, its risk known, the aggregate recomputed equals the printed one",
          arguments: Fixture.allCases)
    func fixtureParses(_ fixture: Fixture) throws {
        let report = try ScorecardReport.parse(try fixture.data)
        #expect(report.checks.count == 18)
        #expect(Set(report.checks.map(\.name)) == officialChecks)
        #expect(report.score == fixture.printedScore)
        #expect(report.recomputedScore == fixture.printedScore)
        #expect(ScorecardReport.printedAggregate(of: report.checks) == report.score)
        #expect(report.repo.name.hasPrefix("github.com/"))
        #expect(report.scorecard.version.hasPrefix("v5."))
        for check in report.checks {
            #expect((-1...10).contains(check.score), "\(check.name)")
            #expect(!check.reason.isEmpty, "\(check.name)")
            #expect(check.documentation.url.hasPrefix("https://github.com/ossf/scorecard/"), "\(check.name)")
        }
        #expect(report.erroredChecks.isEmpty)
    }

    @Test("example 1: details kept where present, null details read as nil; the unrounded aggregate is 9.619…")
    func ossfDetails() throws {
        let report = try ScorecardReport.parse(try Fixture.ossf.data)
        #expect(report.repo.name == "github.com/ossf/scorecard")
        #expect(report.inconclusiveChecks.isEmpty)
        let branchProtection = try #require(report.checks.first { $0.name == "Branch-Protection" })
        #expect(branchProtection.score == 8)
        #expect(branchProtection.details?.count == 6)
        let binaries = try #require(report.checks.first { $0.name == "Binary-Artifacts" })
        #expect(binaries.details == nil)
        let unrounded = try #require(ScorecardReport.aggregate(of: report.checks))
        #expect(abs(unrounded - 9.619) < 0.001)
    }

    @Test("example 2: three inconclusive checks (-1), left out of the aggregate 2.611…; none errored")
    func docutrustInconclusive() throws {
        let report = try ScorecardReport.parse(try Fixture.docutrust.data)
        #expect(report.repo.name == "github.com/expadox/docutrust")
        #expect(report.inconclusiveChecks.map(\.name).sorted() == ["CI-Tests", "Packaging", "Signed-Releases"])
        #expect(report.erroredChecks.isEmpty)
        #expect(report.checks.allSatisfy { $0.details == nil })
        #expect(report.metadata == nil)
        let unrounded = try #require(ScorecardReport.aggregate(of: report.checks))
        #expect(abs(unrounded - 2.611) < 0.001)
    }

    @Test("pretty-printed and one-line forms of the same result parse to the same report", arguments: Fixture.allCases)
    func layoutDoesNotMatter(_ fixture: Fixture) throws {
        let report = try ScorecardReport.parse(try fixture.data)
        let object = try JSONSerialization.jsonObject(with: try fixture.data)
        let oneLine = try JSONSerialization.data(withJSONObject: object)
        let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        #expect(try ScorecardReport.parse(oneLine) == report)
        #expect(try ScorecardReport.parse(pretty) == report)
        // And what the one writer writes reads back the same (null details/metadata included).
        #expect(try ScorecardReport.parse(Data(report.json().utf8)) == report)
    }

    @Test("the one writer writes what the official CLI wrote, byte for byte: key order, nulls, escapes, numbers")
    func theWriterIsTheOfficialEncoding() throws {
        // Example 2 is the official CLI's own one-line output (example 1 was pretty-printed by its author).
        let official = String(decoding: try Fixture.docutrust.data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try ScorecardReport.parse(try Fixture.docutrust.data).json() == official)
        // Example 1 has details with every kind of text: what is written is the official layout of the same values.
        let scorecard = try ScorecardReport.parse(try Fixture.ossf.data)
        let written = scorecard.json()
        #expect(!written.contains("\n") && written.hasPrefix("{\"date\":") && written.hasSuffix(",\"metadata\":null}"))
        #expect(try ScorecardReport.parse(Data(written.utf8)) == scorecard)
        let keys = ["\"date\"", "\"repo\"", "\"scorecard\"", "\"score\"", "\"checks\"", "\"metadata\""]
        let positions = keys.map { written.range(of: $0)!.lowerBound }
        #expect(positions == positions.sorted(), "the official top-level key order")
    }

    @Test("unknown fields at the top level and in checks are ignored; absent details/metadata read as nil")
    func unknownFields() throws {
        let json = """
            {"date":"2025-01-01T00:00:00Z","repo":{"name":"github.com/a/b","commit":"abc","extra":1},
             "scorecard":{"version":"v5.5.0","commit":"def"},"score":7,"future":{"x":[1,2]},
             "checks":[{"name":"License","score":10.0,"reason":"license file detected","new_field":true,
                        "documentation":{"short":"s","url":"u","more":null}},
                       {"name":"Fuzzing","score":-1,"reason":"internal error: boom","details":null,
                        "documentation":{"short":"s","url":"u"}}]}
            """
        let report = try ScorecardReport.parse(Data(json.utf8))
        #expect(report.score == 7)
        #expect(report.metadata == nil)
        #expect(report.checks.map(\.score) == [10, -1])
        #expect(report.checks[0].details == nil)
        #expect(report.erroredChecks.map(\.name) == ["Fuzzing"])
        #expect(report.inconclusiveChecks.map(\.name) == ["Fuzzing"])
        #expect(report.recomputedScore == 10)
    }

    @Test("a float aggregate and metadata strings are read as written")
    func floatScoreAndMetadata() throws {
        let json = """
            {"date":"d","repo":{"name":"file:///tmp/x","commit":"unknown"},"scorecard":{"version":"v5.5.0","commit":"unknown"},
             "score":4.25,"checks":[],"metadata":["a","b"]}
            """
        let report = try ScorecardReport.parse(Data(json.utf8))
        #expect(report.score == 4.25)
        #expect(report.metadata == ["a", "b"])
        #expect(report.recomputedScore == -1)
    }

    @Test("non-JSON is rejected as not JSON", arguments: [
        "Error: unknown flag: --bogus", "{\"date\":", "<html>rate limited</html>", "\u{1B}[31mpanic: runtime error",
    ])
    func notJSON(_ text: String) throws {
        #expect {
            _ = try ScorecardReport.parse(Data(text.utf8))
        } throws: { error in
            guard let error = error as? ScorecardParseError, case .notJSON = error else { return false }
            return error.description.hasPrefix("not JSON")
        }
    }

    @Test("empty or blank output is its own error")
    func empty() {
        #expect(throws: ScorecardParseError.empty) { _ = try ScorecardReport.parse(Data()) }
        #expect(throws: ScorecardParseError.empty) { _ = try ScorecardReport.parse(Data(" \n\t".utf8)) }
    }

    @Test("JSON of the wrong shape names the place", arguments: [
        ("[1,2,3]", ""),
        ("{\"checks\":[]}", ""),
        ("{\"date\":\"d\",\"repo\":{\"name\":\"n\",\"commit\":\"c\"},\"scorecard\":{\"version\":\"v\",\"commit\":\"c\"},\"score\":1,\"checks\":{}}", "checks"),
        ("{\"date\":\"d\",\"repo\":{\"name\":\"n\",\"commit\":\"c\"},\"scorecard\":{\"version\":\"v\",\"commit\":\"c\"},\"score\":\"high\",\"checks\":[]}", "score"),
        ("{\"date\":\"d\",\"repo\":{\"name\":\"n\",\"commit\":\"c\"},\"scorecard\":{\"version\":\"v\",\"commit\":\"c\"},\"score\":1,\"checks\":[{\"name\":\"SAST\",\"score\":7.5,\"reason\":\"r\",\"documentation\":{\"short\":\"s\",\"url\":\"u\"}}]}", "checks[0].score"),
        ("{\"date\":\"d\",\"repo\":{\"name\":\"n\",\"commit\":\"c\"},\"scorecard\":{\"version\":\"v\",\"commit\":\"c\"},\"score\":1,\"checks\":[{\"name\":\"SAST\",\"score\":11,\"reason\":\"r\",\"documentation\":{\"short\":\"s\",\"url\":\"u\"}}]}", "checks[0].score"),
        ("{\"date\":\"d\",\"repo\":{\"name\":\"n\",\"commit\":\"c\"},\"scorecard\":{\"version\":\"v\",\"commit\":\"c\"},\"score\":1,\"checks\":[{\"name\":\"SAST\",\"score\":null,\"reason\":\"r\",\"documentation\":{\"short\":\"s\",\"url\":\"u\"}}]}", "checks[0].score"),
        ("{\"date\":\"d\",\"repo\":{\"name\":\"n\",\"commit\":\"c\"},\"scorecard\":{\"version\":\"v\",\"commit\":\"c\"},\"score\":1,\"checks\":[{\"name\":\"SAST\",\"score\":1,\"reason\":\"r\",\"details\":[1],\"documentation\":{\"short\":\"s\",\"url\":\"u\"}}]}", "checks[0].details[0]"),
    ])
    func wrongShape(_ json: String, path expected: String) throws {
        #expect {
            _ = try ScorecardReport.parse(Data(json.utf8))
        } throws: { error in
            guard let error = error as? ScorecardParseError, case .wrongShape(let path, let problem) = error else {
                return false
            }
            return path == expected && !problem.isEmpty
        }
    }
}
