import Domain
import Foundation
import Logging
import Queue
import Store

/// A webhook delivery: one notification (the alerts one cause raised for one entry) to one endpoint, a job of its own
/// queue — at-least-once, with the notification's id as `webhook-id` on every attempt. Enqueued in the transaction
/// that writes the alerts; run by the Webhooks module.
public struct WebhookDeliveryJob: JobArguments, Equatable {
    public static let kind = "webhook-delivery"
    public static let queue = "webhook-delivery"

    public var webhookID: UUID
    public var notificationID: UUID

    enum CodingKeys: String, CodingKey {
        case webhookID = "webhook_id", notificationID = "notification_id"
    }

    public init(webhookID: UUID, notificationID: UUID) {
        self.webhookID = webhookID
        self.notificationID = notificationID
    }

    /// One unfinished delivery per endpoint and notification: a redelivery asked for while one is waiting finds it.
    public var options: JobOptions {
        JobOptions(uniqueKey: "\(Self.kind):\(webhookID.uuidString.lowercased()):\(notificationID.uuidString.lowercased())")
    }
}

/// Alerts: each watchlist entry's rules (``AlertRules``) are evaluated where what they watch changes — in the
/// transaction that writes a report, the one that makes a repository `failed`, and the daily inactivity pass — and
/// each alert is an `alert_events` row written in that same transaction, with a delivery job for each of the user's
/// webhooks that wants it. Nothing is evaluated after the fact: an alert exists if and only if its cause committed.
///
/// **Invariant.** For every entry, `alert_state.violated` holds the level rules its last report violated and `failed`
/// while the repository is failed; a level rule alerts when it enters that set, never while it stays there. An entry
/// that has seen no report (`alert_state.reported` false) alerts on nothing but `processing` and `failed`: its first
/// report is the baseline.
extension Lifecycle {
    /// A report was written for `work`'s repository (which becomes `ready`): the threshold, drop and regression
    /// rules compare it with `previous`; `processing` and `recovered` end the run.
    func reportWritten(_ report: HealthReportRecord, previous: HealthReportRecord?, in tx: any SQLExecutor) async throws {
        let now = clock()
        guard let current = AlertSnapshot(reportJSON: report.reportJSON) else { return }
        let before = previous.flatMap { AlertSnapshot(reportJSON: $0.reportJSON) }
        try await tx.lockAlerts()
        for entry in try await tx.alertingEntries(repository: report.repositoryID) {
            let rules = Self.rules(entry.alertsJSON)
            var raised: [Alert] = []
            var violated: Set<Alert.Rule>
            if let state = entry.state, state.reported {
                let evaluation = rules.alerts(
                    previous: before, current: current, violatedBefore: Set(state.violated.compactMap(Alert.Rule.init(rawValue:))), now: now)
                raised = evaluation.alerts
                violated = evaluation.violated
            } else {
                violated = rules.violations(in: current, now: now)
            }
            let failedBefore = entry.state?.violated.contains(Alert.Rule.failed.rawValue) ?? false
            raised += rules.alerts(runEndedWasFailed: failedBefore, isFailed: false, requestedByUser: entry.processingAlertPending)
                .map { alert in
                    var alert = alert
                    if alert.rule == .processing { alert.subject = ProcessingStatus.ready.rawValue }
                    return alert
                }
            violated.remove(.failed)
            try await raise(raised, rules: rules, entry: entry, repository: report.repositoryID, previousReport: previous?.id, report: report.id, now: now, in: tx)
            try await tx.setAlertState(
                ofEntry: entry.id, EntryAlertState(reported: true, violated: Set(violated.map(\.rawValue))), processingAlertPending: false)
        }
    }

    /// A run ended without a report: the repository became `failed` (`failed: true`), or a re-check failed and the
    /// last report stands (`failed: false`). `processing` and `failed` alerts.
    func runEndedWithoutReport(repository id: UUID, failed: Bool, reason: String, in tx: any SQLExecutor) async throws {
        let now = clock()
        let report = try await tx.latestHealthReport(repository: id)
        try await tx.lockAlerts()
        for entry in try await tx.alertingEntries(repository: id) {
            let rules = Self.rules(entry.alertsJSON)
            let wasFailed = entry.state?.violated.contains(Alert.Rule.failed.rawValue) ?? false
            let raised = rules.alerts(runEndedWasFailed: wasFailed, isFailed: failed, requestedByUser: entry.processingAlertPending)
                .map { alert in
                    var alert = alert
                    alert.subject = alert.rule == .processing ? (failed ? ProcessingStatus.failed.rawValue : "recheck_failed") : reason
                    return alert
                }
            try await raise(raised, rules: rules, entry: entry, repository: id, previousReport: nil, report: report?.id, now: now, in: tx)
            var state = entry.state
            if failed {
                // Remembered even before the first report, so that the first report after it is told as `recovered`.
                state = state ?? EntryAlertState()
                state?.violated.insert(Alert.Rule.failed.rawValue)
            }
            try await tx.setAlertState(ofEntry: entry.id, state, processingAlertPending: false)
        }
    }

    /// Owes `entry` a `processing` alert when the repository's run ends; when no run is under way (the entry was added
    /// to a repository already `ready` or `failed`), the run has ended already and the alert is raised now.
    func requestProcessingAlert(entry entryID: UUID, repository id: UUID, in tx: any SQLExecutor) async throws {
        try await tx.lockAlerts()
        try await tx.requestProcessingAlert(entry: entryID)
        guard let work = try await tx.repositoryWork(id: id), !work.repository.state.isActive else { return }
        let now = clock()
        let report = try await tx.latestHealthReport(repository: id)
        if let entry = try await tx.alertingEntry(id: entryID) {
            let rules = Self.rules(entry.alertsJSON)
            if rules.processing {
                let status = work.repository.state.status
                let alert = Alert(rule: .processing, subject: status.rawValue)
                try await raise([alert], rules: rules, entry: entry, repository: id, previousReport: nil, report: report?.id, now: now, in: tx)
            }
            try await tx.setAlertState(ofEntry: entry.id, entry.state, processingAlertPending: false)
        }
    }

    /// The daily pass of `inactive_days`: raises it for entries whose repository's newest commit became old enough
    /// since their last report (a re-check may be days away). Pages through the entries, one transaction a page.
    /// - Returns: how many alerts it raised.
    public func evaluateInactivity(store: any Store, pageSize: Int = 500) async throws -> Int {
        var after: UUID?
        var raisedCount = 0
        while true {
            try Task.checkCancellation()
            let now = clock()
            let cursor = after
            let (count, last) = try await store.transaction { tx -> (Int, UUID?) in
                try await tx.lockAlerts()
                let page = try await tx.inactivityWatchers(after: cursor, limit: pageSize)
                var raised = 0
                for (entry, repositoryID, lastCommitAt) in page {
                    let rules = Self.rules(entry.alertsJSON)
                    guard let days = rules.inactiveDays, var state = entry.state, state.reported, !state.violated.contains(Alert.Rule.inactiveDays.rawValue),
                        let idle = AlertRules.daysSince(lastCommitAt, now: now), idle >= days
                    else { continue }
                    let report = try await tx.latestHealthReport(repository: repositoryID)
                    let alert = Alert(rule: .inactiveDays, current: Double(idle))
                    try await self.raise([alert], rules: rules, entry: entry, repository: repositoryID, previousReport: nil, report: report?.id, now: now, in: tx)
                    state.violated.insert(Alert.Rule.inactiveDays.rawValue)
                    try await tx.setAlertState(ofEntry: entry.id, state, processingAlertPending: entry.processingAlertPending)
                    raised += 1
                }
                return (raised, page.count < pageSize ? nil : page.last?.entry.id)
            }
            raisedCount += count
            guard let last else { return raisedCount }
            after = last
        }
    }

    /// Writes the alerts one cause raised for one entry as events of one notification, and a delivery job of that
    /// notification for each of the user's enabled webhooks that wants one of them.
    private func raise(
        _ alerts: [Alert], rules: AlertRules, entry: AlertingEntry, repository: UUID, previousReport: UUID?, report: UUID?, now: Date,
        in tx: any SQLExecutor
    ) async throws {
        guard !alerts.isEmpty else { return }
        let notification = UUID.v7(at: now)
        for (index, alert) in alerts.enumerated() {
            let event = AlertEventRecord(
                // The first event's id is the notification's; the others follow it (ids order events).
                id: index == 0 ? notification : UUID.v7(at: now), notificationID: notification, entryID: entry.id, userID: entry.userID,
                repositoryID: repository, rule: alert.rule.rawValue, subject: alert.subject, previousValue: alert.previous,
                currentValue: alert.current, previousReportID: previousReport, reportID: report, summary: alert.summary(metric: rules.metric),
                createdAt: now)
            try await tx.insertAlertEvent(event)
        }
        for webhook in try await tx.enabledWebhooks(ofUser: entry.userID)
        where alerts.contains(where: { webhook.receives(rule: $0.rule.rawValue, entry: entry.id) }) {
            let delivery = WebhookDeliveryJob(webhookID: webhook.id, notificationID: notification)
            try await queue.enqueue(delivery, options: delivery.options, in: tx)
        }
    }

    /// The rules as stored. Entries stored before rules were validated may hold anything: what does not parse is no rule.
    static func rules(_ json: String) -> AlertRules {
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)),
            let rules = try? AlertRules(parsing: object)
        else { return .none }
        return rules
    }
}

/// The daily evaluation of `inactive_days` (fired by the leader-elected scheduler).
public struct InactivityAlertsJob: JobArguments {
    public static let kind = "inactivity-alerts"
    public static let queue = "maintenance"
    public init() {}

    public static let periodicName = "inactivity-alerts"
}

public struct InactivityAlertsHandler: JobHandler {
    let lifecycle: Lifecycle

    public init(lifecycle: Lifecycle) {
        self.lifecycle = lifecycle
    }

    public func handle(_ arguments: InactivityAlertsJob, context: JobContext) async throws {
        let raised = try await lifecycle.evaluateInactivity(store: context.store)
        if raised > 0 { context.logger.info("inactivity alerts raised", metadata: ["alerts": "\(raised)"]) }
    }
}
