import Domain
import Foundation

/// One alert as kept (`alert_events`): what `GET /v1/events` lists and webhooks deliver.
public struct AlertEventRecord: Sendable, Equatable {
    public var id: UUID
    /// Shared by the alerts one cause (a report, a failure) raised for one entry: a webhook message carries them together.
    public var notificationID: UUID
    public var entryID: UUID
    public var userID: UUID
    public var repositoryID: UUID
    /// `score_below`, `score_drop`, `check_regressed`, `inactive_days`, `processing`, `failed` or `recovered`.
    public var rule: String
    /// The check's name (`check_regressed`), the run's outcome (`processing`: `ready` or `failed`), or the failure's reason.
    public var subject: String?
    public var previousValue: Double?
    public var currentValue: Double?
    public var previousReportID: UUID?
    public var reportID: UUID?
    /// The alert in one sentence.
    public var summary: String
    public var createdAt: Date

    public init(
        id: UUID, notificationID: UUID, entryID: UUID, userID: UUID, repositoryID: UUID, rule: String, subject: String?, previousValue: Double?,
        currentValue: Double?, previousReportID: UUID?, reportID: UUID?, summary: String, createdAt: Date
    ) {
        self.id = id
        self.notificationID = notificationID
        self.entryID = entryID
        self.userID = userID
        self.repositoryID = repositoryID
        self.rule = rule
        self.subject = subject
        self.previousValue = previousValue
        self.currentValue = currentValue
        self.previousReportID = previousReportID
        self.reportID = reportID
        self.summary = summary
        self.createdAt = createdAt
    }
}

/// An alert event with the repository it is about (for listings and webhook payloads).
public struct AlertEventWithRepository: Sendable, Equatable {
    public var event: AlertEventRecord
    /// Its place in the order events were committed: the cursor of listings.
    public var sequence: Int64
    public var repositoryURL: RepositoryURL
}

/// What an entry's rules remember between reports (`watchlist_entries.alert_state`).
public struct EntryAlertState: Sendable, Equatable, Codable {
    /// True once the entry has seen a report: the next one is compared with it (the first one never alerts).
    public var reported: Bool
    /// The level rules violated by the last report (`score_below`, `inactive_days`), and `failed` while the
    /// repository is failed.
    public var violated: Set<String>

    public init(reported: Bool = false, violated: Set<String> = []) {
        self.reported = reported
        self.violated = violated
    }

    /// Sorted, so equal states are equal text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reported, forKey: .reported)
        try container.encode(violated.sorted(), forKey: .violated)
    }
}

/// A watchlist entry as the alerting sees it.
public struct AlertingEntry: Sendable, Equatable {
    public var id: UUID
    public var userID: UUID
    public var alertsJSON: String
    /// What the rules remember (nil: nothing yet).
    public var state: EntryAlertState?
    /// A `processing` alert is owed when the run under way ends (set by an add, a retry or an explicit re-check).
    public var processingAlertPending: Bool
}

extension SQLExecutor {
    /// Every entry on the repository, oldest first, with its rules and what they remember.
    public func alertingEntries(repository id: UUID) async throws -> [AlertingEntry] {
        try await query("""
            SELECT id, user_id, alerts, alert_state, processing_alert_pending FROM watchlist_entries
            WHERE repository_id = \(id) ORDER BY id
            """).map(Self.decodeAlertingEntry)
    }

    /// One entry, with its rules and what they remember.
    public func alertingEntry(id: UUID) async throws -> AlertingEntry? {
        try await first("""
            SELECT id, user_id, alerts, alert_state, processing_alert_pending FROM watchlist_entries WHERE id = \(id)
            """).map(Self.decodeAlertingEntry)
    }

    /// Entries whose rules include `inactive_days` and that have seen a report, with their repository's newest commit
    /// date, after the cursor `after` (an entry id): the daily inactivity pass.
    public func inactivityWatchers(after: UUID?, limit: Int) async throws -> [(entry: AlertingEntry, repositoryID: UUID, lastCommitAt: Date?)] {
        var sql: SQL = """
            SELECT e.id, e.user_id, e.alerts, e.alert_state, e.processing_alert_pending, e.repository_id, r.head_committed_at
            FROM watchlist_entries e JOIN repositories r ON r.id = e.repository_id
            WHERE e.alert_state IS NOT NULL AND CAST(e.alerts AS TEXT) LIKE '%inactive_days%'
            """
        if let after { sql = sql + " AND e.id > \(after)" }
        sql = sql + " ORDER BY e.id LIMIT \(limit)"
        return try await query(sql).map { row in
            (try Self.decodeAlertingEntry(row), try row.require("repository_id", row.uuid), try row.date("head_committed_at"))
        }
    }

    /// Records what the entry's rules remember now, and whether a `processing` alert is still owed.
    public func setAlertState(ofEntry id: UUID, _ state: EntryAlertState?, processingAlertPending: Bool) async throws {
        let text = try state.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        try await execute("""
            UPDATE watchlist_entries SET alert_state = \(text.map(SQLValue.json) ?? .null),
                processing_alert_pending = \(processingAlertPending) WHERE id = \(id)
            """)
    }

    /// Owes the entry a `processing` alert at the end of the run under way (an add, a retry, an explicit re-check).
    public func requestProcessingAlert(entry id: UUID) async throws {
        try await execute("UPDATE watchlist_entries SET processing_alert_pending = \(true) WHERE id = \(id)")
    }

    /// Serialises the transactions that write alerts, from here to their commit (PostgreSQL; SQLite has one writer
    /// anyway): sequence numbers are taken in commit order, so a reader that has seen event 11 will never see 10 appear.
    /// Taken before any watchlist entry is written, so that it cannot deadlock with an entry's row lock.
    public func lockAlerts() async throws {
        guard dialect == .postgres else { return }
        // 0x5257_414c = "RWAL": RepoWatch alerts.
        try await execute("SELECT pg_advisory_xact_lock(1381449036)")
    }

    public func insertAlertEvent(_ event: AlertEventRecord) async throws {
        try await execute("""
            INSERT INTO alert_events (id, notification_id, entry_id, user_id, repository_id, rule, subject, previous_value, current_value,
                previous_report_id, report_id, summary, created_at)
            VALUES (\(event.id), \(event.notificationID), \(event.entryID), \(event.userID), \(event.repositoryID), \(event.rule), \(event.subject),
                \(event.previousValue), \(event.currentValue), \(event.previousReportID), \(event.reportID), \(event.summary),
                \(event.createdAt))
            """)
    }

    /// One page of events visible to `caller` (admin: all), in the order they were committed, after the cursor `after`
    /// (an event's ``AlertEventWithRepository/sequence``); only those of `entry` when given. Sequence numbers are in
    /// commit order (``lockAlerts()``), so a page never passes an event that is yet to commit.
    public func alertEvents(visibleTo caller: Caller?, entry: UUID?, after: Int64?, limit: Int) async throws -> [AlertEventWithRepository] {
        var sql = Self.alertEventSelect + " WHERE 1 = 1"
        if let caller, !caller.isAdmin { sql = sql + " AND ev.user_id = \(caller.userID)" }
        if let entry { sql = sql + " AND ev.entry_id = \(entry)" }
        if let after { sql = sql + " AND ev.seq > \(after)" }
        sql = sql + " ORDER BY ev.seq LIMIT \(limit)"
        return try await query(sql).map(Self.decodeAlertEvent)
    }

    /// The events of one notification (any owner), in the order they were raised.
    public func alertEvents(notification id: UUID) async throws -> [AlertEventWithRepository] {
        try await query(Self.alertEventSelect + " WHERE ev.notification_id = \(id) ORDER BY ev.id").map(Self.decodeAlertEvent)
    }

    static var alertEventSelect: SQL {
        """
        SELECT ev.seq, ev.id, ev.notification_id, ev.entry_id, ev.user_id, ev.repository_id, ev.rule, ev.subject, ev.previous_value, ev.current_value,
            ev.previous_report_id, ev.report_id, ev.summary, ev.created_at, r.scheme, r.host, r.port, r.owner, r.name
        FROM alert_events ev JOIN repositories r ON r.id = ev.repository_id
        """
    }

    static func decodeAlertEvent(_ row: any SQLRow) throws -> AlertEventWithRepository {
        let event = AlertEventRecord(
            id: try row.require("id", row.uuid), notificationID: try row.require("notification_id", row.uuid), entryID: try row.require("entry_id", row.uuid), userID: try row.require("user_id", row.uuid),
            repositoryID: try row.require("repository_id", row.uuid), rule: try row.require("rule", row.string),
            subject: try row.string("subject"), previousValue: try row.double("previous_value"), currentValue: try row.double("current_value"),
            previousReportID: try row.uuid("previous_report_id"), reportID: try row.uuid("report_id"),
            summary: try row.require("summary", row.string), createdAt: try row.require("created_at", row.date))
        let url = RepositoryURL(
            stored: try row.require("scheme", row.string), host: try row.require("host", row.string), port: try row.int("port").map(Int.init),
            owner: try row.require("owner", row.string), name: try row.require("name", row.string))
        return AlertEventWithRepository(event: event, sequence: try row.require("seq", row.int), repositoryURL: url)
    }

    static func decodeAlertingEntry(_ row: any SQLRow) throws -> AlertingEntry {
        let state = try row.string("alert_state").flatMap { try? JSONDecoder().decode(EntryAlertState.self, from: Data($0.utf8)) }
        return AlertingEntry(
            id: try row.require("id", row.uuid), userID: try row.require("user_id", row.uuid), alertsJSON: try row.require("alerts", row.string),
            state: state, processingAlertPending: try row.require("processing_alert_pending", row.bool))
    }
}
