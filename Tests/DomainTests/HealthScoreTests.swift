import Domain
import Foundation
import Testing

@Suite("Health score")
struct HealthScoreTests {
    @Test func criticalityScoreNormalisation() {
        #expect(HealthScore.normalize(0, threshold: 10) == 0)
        #expect(HealthScore.normalize(10, threshold: 10) == 1)
        #expect(HealthScore.normalize(1_000, threshold: 10) == 1, "past the threshold counts fully")
        #expect(abs(HealthScore.normalize(3, threshold: 10) - log(4) / log(11)) < 1e-12)
        #expect(HealthScore.normalize(-5, threshold: 10) == 0)
    }

    @Test func aHealthyRepositoryScoresHighWithFullConfidence() {
        let score = HealthScore(scorecardAggregate: 9.6, daysSinceLastCommit: 0, commits90d: 250, activeAuthors90d: 40, busFactor: 7)
        #expect(score.missing.isEmpty)
        #expect(score.confidence == 1)
        #expect(score.score == 98.0)  // 0.5·0.96 + 0.15 + 0.10 + 0.15 + 0.10
    }

    @Test func aDormantRepositoryScoresLow() {
        let score = HealthScore(scorecardAggregate: 2.6, daysSinceLastCommit: 500, commits90d: 0, activeAuthors90d: 0, busFactor: 0)
        #expect(score.score == 13.0)
        #expect(score.confidence == 1)
    }

    /// A signal that could not be measured lowers the confidence and never raises the score.
    @Test func missingSignalsNeverRaiseTheScore() {
        let full = HealthScore(scorecardAggregate: 3, daysSinceLastCommit: 400, commits90d: 1, activeAuthors90d: 1, busFactor: 1)
        let noScorecard = HealthScore(scorecardAggregate: nil, daysSinceLastCommit: 400, commits90d: 1, activeAuthors90d: 1, busFactor: 1)
        let inconclusive = HealthScore(scorecardAggregate: -1, daysSinceLastCommit: 400, commits90d: 1, activeAuthors90d: 1, busFactor: 1)
        #expect(noScorecard.missing == [.scorecard])
        #expect(noScorecard.confidence == 0.5)
        #expect(noScorecard.score <= full.score)
        #expect(inconclusive == noScorecard, "an aggregate of -1 is no measurement")
        let nothing = HealthScore(scorecardAggregate: nil, daysSinceLastCommit: nil, commits90d: nil, activeAuthors90d: nil, busFactor: nil)
        #expect(nothing.score == 0 && nothing.confidence == 0 && nothing.missing.count == 5)
    }
}
