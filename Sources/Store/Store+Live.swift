import Domain
import Foundation

/// One change of a repository's processing state, as the live status stream sends it (`state_changes`).
public struct StateChange: Sendable, Equatable {
    /// Its place in the order of all changes (one repository's changes are numbered in commit order).
    public var sequence: Int64
    public var repositoryID: UUID
    public var status: ProcessingStatus
    public var stage: ProcessingStage
    public var progress: Int
    public var refreshing: Bool
    public var lastError: String?
    public var at: Date

    public init(
        sequence: Int64, repositoryID: UUID, status: ProcessingStatus, stage: ProcessingStage, progress: Int, refreshing: Bool,
        lastError: String?, at: Date
    ) {
        self.sequence = sequence
        self.repositoryID = repositoryID
        self.status = status
        self.stage = stage
        self.progress = progress
        self.refreshing = refreshing
        self.lastError = lastError
        self.at = at
    }
}

extension SQLExecutor {
    /// Appends the repository's new state to its changes, unless it equals the last one; keeps its last 100.
    /// Called after the row's UPDATE (which locks the row), so one repository's changes are numbered in commit order.
    func recordStateChange(_ state: ProcessingState, ofRepository id: UUID, now: Date) async throws {
        let sameError: SQL = state.lastError == nil
            ? "last_error IS NULL" : "last_error = \(state.lastError)"
        try await execute("""
            INSERT INTO state_changes (repository_id, status, stage, progress, refreshing, last_error, created_at)
            SELECT \(id), \(state.status.rawValue), \(state.stage.rawValue), \(state.progress), \(state.refreshing), \(state.lastError), \(now)
            WHERE NOT EXISTS (
                SELECT 1 FROM (
                    SELECT status, stage, progress, refreshing, last_error FROM state_changes
                    WHERE repository_id = \(id) ORDER BY seq DESC LIMIT 1
                ) last
                WHERE status = \(state.status.rawValue) AND stage = \(state.stage.rawValue) AND progress = \(state.progress)
                  AND refreshing = \(state.refreshing) AND \(sameError)
            )
            """)
        try await execute("""
            DELETE FROM state_changes WHERE repository_id = \(id) AND seq < (
                SELECT seq FROM state_changes WHERE repository_id = \(id) ORDER BY seq DESC LIMIT 1 OFFSET 99)
            """)
    }

    /// The repository's changes after `after`, oldest first.
    public func stateChanges(repository id: UUID, after: Int64, limit: Int) async throws -> [StateChange] {
        try await query("""
            SELECT seq, repository_id, status, stage, progress, refreshing, last_error, created_at FROM state_changes
            WHERE repository_id = \(id) AND seq > \(after) ORDER BY seq LIMIT \(limit)
            """).map(Self.decodeStateChange)
    }

    /// The newest change's number (0 when there is none): where a stream that starts now stands.
    public func lastStateChange(repository id: UUID) async throws -> Int64 {
        try await first("SELECT MAX(seq) AS seq FROM state_changes WHERE repository_id = \(id)")?.int("seq") ?? 0
    }

    /// The newest alert's number for `entry` (0 when there is none).
    public func lastAlertEvent(entry id: UUID) async throws -> Int64 {
        try await first("SELECT MAX(seq) AS seq FROM alert_events WHERE entry_id = \(id)")?.int("seq") ?? 0
    }

    /// Which repositories changed state, and which entries got alerts, after the given numbers, with the newest
    /// numbers seen: how a process without notifications (SQLite) finds whom to wake.
    public func liveChanges(afterState: Int64, afterAlert: Int64) async throws -> (repositories: Set<UUID>, entries: Set<UUID>, state: Int64, alert: Int64) {
        let states = try await query("SELECT repository_id, seq FROM state_changes WHERE seq > \(afterState) ORDER BY seq LIMIT 10000")
        let alerts = try await query("SELECT entry_id, seq FROM alert_events WHERE seq > \(afterAlert) ORDER BY seq LIMIT 10000")
        var repositories = Set<UUID>()
        var entries = Set<UUID>()
        var (state, alert) = (afterState, afterAlert)
        for row in states {
            repositories.insert(try row.require("repository_id", row.uuid))
            state = max(state, try row.require("seq", row.int))
        }
        for row in alerts {
            entries.insert(try row.require("entry_id", row.uuid))
            alert = max(alert, try row.require("seq", row.int))
        }
        return (repositories, entries, state, alert)
    }

    static func decodeStateChange(_ row: any SQLRow) throws -> StateChange {
        guard let status = ProcessingStatus(rawValue: try row.require("status", row.string)),
            let stage = ProcessingStage(rawValue: try row.require("stage", row.string))
        else { throw StoreError.corrupt("unknown status or stage in state_changes") }
        return StateChange(
            sequence: try row.require("seq", row.int), repositoryID: try row.require("repository_id", row.uuid), status: status, stage: stage,
            progress: Int(try row.require("progress", row.int)), refreshing: try row.require("refreshing", row.bool),
            lastError: try row.string("last_error"), at: try row.require("created_at", row.date))
    }
}
