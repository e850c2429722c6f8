import Foundation
import Mustache

// The views the templates render: plain values, text already formatted, no markup. Property names are the names the
// templates use. Mustache reads stored properties only (by reflection), so what a template tests (`hasChecks`) is
// stored, set in the initialiser. A nil optional is looked up in the enclosing views too (Mustache's context
// stack): names are not reused between a view and the views inside it.

/// The signed-in person, in every page's header; `csrfToken` goes into every form.
public struct SessionView: Sendable {
    public var userName: String
    public var isAdmin: Bool
    public var csrfToken: String

    public init(userName: String, isAdmin: Bool, csrfToken: String) {
        self.userName = userName
        self.isAdmin = isAdmin
        self.csrfToken = csrfToken
    }
}

/// A message next to a form field (its id is `<field>-error`).
public struct FieldError: Sendable {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// `GET /sign-in`.
public struct SignInPage: Sendable {
    public let title = "Sign in"
    public var csrfToken: String
    public var error: String?
    public var notice: String?

    public init(csrfToken: String, error: String? = nil, notice: String? = nil) {
        self.csrfToken = csrfToken
        self.error = error
        self.notice = notice
    }
}

/// The alert rule fields, in the add form and in the repository page's editor.
public struct AlertFields: Sendable {
    public var metricHealth = true
    public var metricScorecard = false
    public var scoreBelow = ""
    public var scoreDrop = ""
    public var checkRegressed = ""
    public var inactiveDays = ""
    public var processing = true
    public var failed = true
    public var metricError: String?
    public var scoreBelowError: String?
    public var scoreDropError: String?
    public var checkRegressedError: String?
    public var inactiveDaysError: String?
    /// An error about the rules as a whole.
    public var alertsError: String?

    public init() {}

    /// Puts `message` next to the field named `field` (`score_below`, …; anything else: the rules as a whole).
    public mutating func setError(field: String, message: String) {
        switch field {
        case "metric": metricError = message
        case "score_below": scoreBelowError = message
        case "score_drop": scoreDropError = message
        case "check_regressed": checkRegressedError = message
        case "inactive_days": inactiveDaysError = message
        default: alertsError = message
        }
    }

    /// True when some field has an error.
    public var hasErrors: Bool {
        [metricError, scoreBelowError, scoreDropError, checkRegressedError, inactiveDaysError, alertsError].contains { $0 != nil }
    }
}

/// The add form (with what was typed, and the errors, when it was refused).
public struct EntryForm: Sendable {
    public var repoURL = ""
    public var notes = ""
    public var alerts = AlertFields()
    public var repoURLError: String?
    public var notesError: String?

    public init() {}
}

/// One link of the status filter.
public struct FilterLink: Sendable {
    public var status: String
    public var label: String
    public var href: String
    public var current: Bool

    public init(status: String, label: String, href: String, current: Bool) {
        self.status = status
        self.label = label
        self.href = href
        self.current = current
    }
}

/// One row of the watchlist.
public struct WatchlistRow: Sendable {
    public var id: String
    public var url: String
    public var status: String
    public var stage: String
    public var progress: Int
    public var healthScore: String
    public var lastCommit: String
    public var lastCommitISO: String
    public var refreshing: Bool
    public var stale: Bool
    public var isPrivate: Bool
    public var notes: String?

    public init(
        id: String, url: String, status: String, stage: String, progress: Int, healthScore: String, lastCommit: String, lastCommitISO: String,
        refreshing: Bool, stale: Bool, isPrivate: Bool, notes: String?
    ) {
        self.id = id
        self.url = url
        self.status = status
        self.stage = stage
        self.progress = progress
        self.healthScore = healthScore
        self.lastCommit = lastCommit
        self.lastCommitISO = lastCommitISO
        self.refreshing = refreshing
        self.stale = stale
        self.isPrivate = isPrivate
        self.notes = notes
    }
}

/// `GET /watchlist`.
public struct WatchlistPage: Sendable {
    public let title = "Watchlist"
    public var session: SessionView
    public var filters: [FilterLink]
    public var rows: [WatchlistRow]
    public var form: EntryForm
    public var flash: String?
    public var nextPage: String?
    public var filterLabel: String
    public let isEmpty: Bool
    public let count: Int

    public init(
        session: SessionView, filters: [FilterLink], rows: [WatchlistRow], form: EntryForm, flash: String?, nextPage: String?, filterLabel: String
    ) {
        self.session = session
        self.filters = filters
        self.rows = rows
        self.form = form
        self.flash = flash
        self.nextPage = nextPage
        self.filterLabel = filterLabel
        self.isEmpty = rows.isEmpty
        self.count = rows.count
    }
}

/// One person among the top authors.
public struct AuthorRow: Sendable {
    public var name: String
    public var commits: Int

    public init(name: String, commits: Int) {
        self.name = name
        self.commits = commits
    }
}

/// One Scorecard check of the latest report.
public struct CheckRow: Sendable {
    public var name: String
    public var score: String
    /// `good` (8–10), `fair` (5–7), `poor` (0–4) or `none` (inconclusive).
    public var grade: String
    public var reason: String
    public var documentation: String
    public var details: [String]
    public let hasDetails: Bool

    public init(name: String, score: String, grade: String, reason: String, documentation: String, details: [String]) {
        self.name = name
        self.score = score
        self.grade = grade
        self.reason = reason
        self.documentation = documentation
        self.details = details
        self.hasDetails = !details.isEmpty
    }
}

/// One alert event of the entry.
public struct EventRow: Sendable {
    public var at: String
    public var atISO: String
    public var rule: String
    public var summary: String

    public init(at: String, atISO: String, rule: String, summary: String) {
        self.at = at
        self.atISO = atISO
        self.rule = rule
        self.summary = summary
    }
}

/// A figure with its label, for the repository page's summary.
public struct Figure: Sendable {
    public var id: String
    public var label: String
    public var value: String

    public init(id: String, label: String, value: String) {
        self.id = id
        self.label = label
        self.value = value
    }
}

/// `GET /watchlist/{id}`: one entry's repository.
public struct RepositoryPage: Sendable {
    public var title: String
    public var session: SessionView
    public var entryID: String
    public var url: String
    public var status: String
    public var stage: String
    public var progress: Int
    public var refreshing: Bool
    public var lastError: String?
    public var notes: String?
    public var healthScore: String
    public var figures: [Figure]
    public var healthChart: LineChart
    public var commitsChart: BarChart
    public var topAuthors: [AuthorRow]
    public var checks: [CheckRow]
    public var scorecardNote: String?
    public var alerts: AlertFields
    public var events: [EventRow]
    public var flash: String?
    public var canRetry: Bool
    public var canRecheck: Bool
    public let isLive: Bool
    public let hasAuthors: Bool
    public let hasChecks: Bool
    public let hasEvents: Bool

    public init(
        title: String, session: SessionView, entryID: String, url: String, status: String, stage: String, progress: Int, refreshing: Bool,
        lastError: String?, notes: String?, healthScore: String, figures: [Figure], healthChart: LineChart, commitsChart: BarChart,
        topAuthors: [AuthorRow], checks: [CheckRow], scorecardNote: String?, alerts: AlertFields, events: [EventRow], flash: String?,
        canRetry: Bool, canRecheck: Bool
    ) {
        self.title = title
        self.session = session
        self.entryID = entryID
        self.url = url
        self.status = status
        self.stage = stage
        self.progress = progress
        self.refreshing = refreshing
        self.lastError = lastError
        self.notes = notes
        self.healthScore = healthScore
        self.figures = figures
        self.healthChart = healthChart
        self.commitsChart = commitsChart
        self.topAuthors = topAuthors
        self.checks = checks
        self.scorecardNote = scorecardNote
        self.alerts = alerts
        self.events = events
        self.flash = flash
        self.canRetry = canRetry
        self.canRecheck = canRecheck
        self.isLive = status == "processing" || refreshing
        self.hasAuthors = !topAuthors.isEmpty
        self.hasChecks = !checks.isEmpty
        self.hasEvents = !events.isEmpty
    }
}

/// `GET /watchlist/{id}/delete`: are you sure?
public struct ConfirmDeletePage: Sendable {
    public let title = "Remove from watchlist"
    public var session: SessionView
    public var entryID: String
    public var url: String

    public init(session: SessionView, entryID: String, url: String) {
        self.session = session
        self.entryID = entryID
        self.url = url
    }
}

/// One queue on the admin page.
public struct QueueRow: Sendable {
    public var name: String
    public var available: Int
    public var running: Int
    public var retryable: Int
    public var completed: Int
    public var discarded: Int
    public var cancelled: Int
    public var oldestWaiting: String
    public var completedLastHour: Int
    public var failedLastHour: Int

    public init(
        name: String, available: Int, running: Int, retryable: Int, completed: Int, discarded: Int, cancelled: Int, oldestWaiting: String,
        completedLastHour: Int, failedLastHour: Int
    ) {
        self.name = name
        self.available = available
        self.running = running
        self.retryable = retryable
        self.completed = completed
        self.discarded = discarded
        self.cancelled = cancelled
        self.oldestWaiting = oldestWaiting
        self.completedLastHour = completedLastHour
        self.failedLastHour = failedLastHour
    }
}

/// A discarded job, with its last error.
public struct JobRow: Sendable {
    public var id: String
    public var queue: String
    public var kind: String
    public var attempts: String
    public var finishedAt: String
    public var lastError: String
    public var subject: String

    public init(id: String, queue: String, kind: String, attempts: String, finishedAt: String, lastError: String, subject: String) {
        self.id = id
        self.queue = queue
        self.kind = kind
        self.attempts = attempts
        self.finishedAt = finishedAt
        self.lastError = lastError
        self.subject = subject
    }
}

/// A repository nothing moves on.
public struct StalledRow: Sendable {
    public var id: String
    public var url: String
    public var status: String
    public var stage: String
    public var since: String

    public init(id: String, url: String, status: String, stage: String, since: String) {
        self.id = id
        self.url = url
        self.status = status
        self.stage = stage
        self.since = since
    }
}

/// `GET /admin`.
public struct AdminPage: Sendable {
    public let title = "Admin"
    public var session: SessionView
    public var queues: [QueueRow]
    public var discarded: [JobRow]
    public var schedulerStatus: String
    public var schedulerLastRun: String
    public var schedulerPeriod: String
    public var overdue: Int
    public var stalled: [StalledRow]
    public var stalledCount: Int
    public var flash: String?
    public let hasDiscarded: Bool
    public let hasStalled: Bool
    public let schedulerHealthy: Bool

    public init(
        session: SessionView, queues: [QueueRow], discarded: [JobRow], schedulerStatus: String, schedulerLastRun: String,
        schedulerPeriod: String, overdue: Int, stalled: [StalledRow], stalledCount: Int, flash: String?
    ) {
        self.session = session
        self.queues = queues
        self.discarded = discarded
        self.schedulerStatus = schedulerStatus
        self.schedulerLastRun = schedulerLastRun
        self.schedulerPeriod = schedulerPeriod
        self.overdue = overdue
        self.stalled = stalled
        self.stalledCount = stalledCount
        self.flash = flash
        self.hasDiscarded = !discarded.isEmpty
        self.hasStalled = !stalled.isEmpty
        self.schedulerHealthy = schedulerStatus == "ok" || schedulerStatus == "idle"
    }
}

/// Not found, forbidden, or another message with a way back.
public struct MessagePage: Sendable {
    public var title: String
    public var session: SessionView?
    public var message: String

    public init(title: String, session: SessionView?, message: String) {
        self.title = title
        self.session = session
        self.message = message
    }
}

// MARK: Lookups without reflection

// Mustache finds a name by reflection (`Mirror`) unless the value answers for itself. The views that repeat — a row per
// entry, a bar per week, a point per report — answer for themselves: reflection over them was most of the time of a
// 500-entry watchlist (dashboard-bench). The names are the stored properties' names; a test renders every view both ways.

extension WatchlistRow: MustacheParent {
    public func child(named key: String) -> Any? {
        switch key {
        case "id": id
        case "url": url
        case "status": status
        case "stage": stage
        case "progress": progress
        case "healthScore": healthScore
        case "lastCommit": lastCommit
        case "lastCommitISO": lastCommitISO
        case "refreshing": refreshing
        case "stale": stale
        case "isPrivate": isPrivate
        case "notes": notes
        default: nil
        }
    }
}

extension CheckRow: MustacheParent {
    public func child(named key: String) -> Any? {
        switch key {
        case "name": name
        case "score": score
        case "grade": grade
        case "reason": reason
        case "documentation": documentation
        case "details": details
        case "hasDetails": hasDetails
        default: nil
        }
    }
}

extension ChartPoint: MustacheParent {
    public func child(named key: String) -> Any? {
        switch key {
        case "cx": cx
        case "cy": cy
        case "label": label
        default: nil
        }
    }
}

extension ChartRow: MustacheParent {
    public func child(named key: String) -> Any? {
        switch key {
        case "label": label
        case "values": values
        default: nil
        }
    }
}

extension Tick: MustacheParent {
    public func child(named key: String) -> Any? {
        switch key {
        case "x": x
        case "y": y
        case "x2": x2
        case "y2": y2
        case "label": label
        default: nil
        }
    }
}

extension BarChart.Bar: MustacheParent {
    public func child(named key: String) -> Any? {
        switch key {
        case "x": x
        case "y": y
        case "width": width
        case "height": height
        case "label": label
        default: nil
        }
    }
}
