import Domain
import Foundation
import Testing

@Suite("Processing state machine")
struct ProcessingStateTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func firstRunGoesThroughTheStagesToReady() throws {
        var state = ProcessingState.queued
        #expect(state.status == .processing && state.stage == .queued && state.startedAt == nil)
        state = try state.start(.cloning, at: t0)
        #expect(state.startedAt == t0)
        state = try state.report(progress: 40)
        #expect(state.progress == 40)
        state = try state.start(.backfilling, at: t0 + 10)
        #expect(state.progress == 0 && state.startedAt == t0, "a later stage keeps the run's start time")
        state = try state.start(.analyzing, at: t0 + 20)
        state = try state.complete(at: t0 + 30)
        #expect(state == ProcessingState(status: .ready, stage: .done, progress: 100, startedAt: t0, completedAt: t0 + 30))
    }

    @Test func failureNamesTheStageAndRetryStartsOver() throws {
        let failed = try ProcessingState.queued.start(.cloning, at: t0).fail(reason: "repository not found", at: t0 + 5)
        #expect(failed.status == .failed)
        #expect(failed.stage == .cloning)
        #expect(failed.lastError == "cloning: repository not found")
        let retried = try failed.retry()
        #expect(retried.status == .processing && retried.stage == .queued && retried.startedAt == nil)
        #expect(retried.lastError == "cloning: repository not found", "the last error stays visible until the retry succeeds")
        #expect(try retried.start(.cloning, at: t0 + 60).complete(at: t0 + 70).lastError == nil)
    }

    @Test func recheckKeepsReadyAndAFailedRecheckKeepsTheReport() throws {
        let ready = try ProcessingState.queued.start(.cloning, at: t0).complete(at: t0 + 10)
        let refreshing = try ready.recheck()
        #expect(refreshing.status == .ready && refreshing.refreshing)
        let fetching = try refreshing.start(.cloning, at: t0 + 100)
        #expect(fetching.status == .ready && fetching.startedAt == t0 + 100)
        let failed = try fetching.fail(reason: "timed out", at: t0 + 110)
        #expect(failed.status == .ready && !failed.refreshing)
        #expect(failed.completedAt == t0 + 10, "the last successful check time is kept")
        #expect(failed.lastError == "cloning: timed out")
        let done = try refreshing.start(.analyzing, at: t0 + 100).complete(at: t0 + 120)
        #expect(done.status == .ready && !done.refreshing && done.completedAt == t0 + 120)
    }

    @Test func refusesTransitionsThatMakeNoSense() throws {
        let ready = try ProcessingState.queued.start(.cloning, at: t0).complete(at: t0)
        let failed = try ProcessingState.queued.start(.cloning, at: t0).fail(reason: "x", at: t0)
        #expect(throws: InvalidTransition.self) { try ready.start(.cloning, at: t0) }
        #expect(throws: InvalidTransition.self) { try ready.complete(at: t0) }
        #expect(throws: InvalidTransition.self) { try ready.retry() }
        #expect(throws: InvalidTransition.self) { try ready.recheck().recheck() }
        #expect(throws: InvalidTransition.self) { try failed.complete(at: t0) }
        #expect(throws: InvalidTransition.self) { try failed.recheck() }
        #expect(throws: InvalidTransition.self) { try ProcessingState.queued.retry() }
        #expect(throws: InvalidTransition.self) { try ProcessingState.queued.report(progress: 10) }
        #expect(throws: InvalidTransition.self) { try ProcessingState.queued.start(.done, at: t0) }
        #expect(throws: InvalidTransition.self) { try ProcessingState.queued.start(.cloning, at: t0).report(progress: 101) }
        #expect(throws: InvalidTransition.self) { try ProcessingState.queued.start(.cloning, at: t0).report(progress: -1) }
    }
}

@Suite("Identifiers")
struct IdentifierTests {
    @Test func v7IdsSortByCreationTime() {
        let early = UUID.v7(at: Date(timeIntervalSince1970: 1_800_000_000))
        let late = UUID.v7(at: Date(timeIntervalSince1970: 1_800_000_001))
        #expect(early.lowercased < late.lowercased)
        #expect(early.uuidString.dropFirst(14).first == "7", "version nibble")
    }
}
