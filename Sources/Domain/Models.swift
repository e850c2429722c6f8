import Foundation

/// A repository, stored once per canonical URL however many users watch it.
public struct Repository: Sendable, Equatable {
    public var id: UUID
    public var url: RepositoryURL
    public var state: ProcessingState
    public var headCommit: String?
    public var defaultBranch: String?
    public var nextCheckAt: Date?
    /// Attempts the current (or last) stage's job took.
    public var attempts: Int
    /// Machine-readable reason of the last failure: `too_large`, `not_found`, `auth_required`, …
    public var failureReason: String?
    /// Read with a user's token: private to that user.
    public var isPrivate: Bool
    /// The latest health report's overall score (0–100), nil before the first.
    public var healthScore: Double?
    /// When the last check (first run or re-check) completed.
    public var lastCheckedAt: Date?
    /// When the head commit was made (committer date): the repository's last commit.
    public var headCommittedAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID, url: RepositoryURL, state: ProcessingState, headCommit: String? = nil, defaultBranch: String? = nil,
        nextCheckAt: Date? = nil, attempts: Int = 0, failureReason: String? = nil, isPrivate: Bool = false, healthScore: Double? = nil,
        lastCheckedAt: Date? = nil, headCommittedAt: Date? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.url = url
        self.state = state
        self.headCommit = headCommit
        self.defaultBranch = defaultBranch
        self.nextCheckAt = nextCheckAt
        self.attempts = attempts
        self.failureReason = failureReason
        self.isPrivate = isPrivate
        self.healthScore = healthScore
        self.lastCheckedAt = lastCheckedAt
        self.headCommittedAt = headCommittedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One user's interest in one repository.
public struct WatchlistEntry: Sendable, Equatable {
    public var id: UUID
    public var userID: UUID
    public var repositoryID: UUID
    /// The user's alert settings, a JSON object kept as its text.
    public var alertsJSON: String
    public var notes: String?
    /// How often this user wants the repository re-checked, in seconds; nil: the configured interval.
    public var checkIntervalSeconds: Int?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID, userID: UUID, repositoryID: UUID, alertsJSON: String, notes: String?, checkIntervalSeconds: Int? = nil, createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.userID = userID
        self.repositoryID = repositoryID
        self.alertsJSON = alertsJSON
        self.notes = notes
        self.checkIntervalSeconds = checkIntervalSeconds
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// True when the last successful check (or, before any, the entry's creation) is older than twice the
    /// entry's interval: the data shown may be out of date, and re-checks may not be happening.
    public func isStale(lastCheckedAt: Date?, defaultInterval: Duration, now: Date) -> Bool {
        let interval = checkIntervalSeconds.map(Double.init) ?? defaultInterval.seconds
        return now.timeIntervalSince(lastCheckedAt ?? createdAt) > 2 * interval
    }
}

/// An entry together with the repository it points at: what the API shows.
public struct EntryWithRepository: Sendable, Equatable {
    public var entry: WatchlistEntry
    public var repository: Repository
    /// The owning user's name.
    public var userName: String

    public init(entry: WatchlistEntry, repository: Repository, userName: String) {
        self.entry = entry
        self.repository = repository
        self.userName = userName
    }
}

public struct User: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var createdAt: Date

    public init(id: UUID, name: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }

    /// User names: 1–64 characters of letters, digits, `.`, `_`, `-`, `@`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.allSatisfy { $0.isASCIILetterOrDigit || $0 == "." || $0 == "_" || $0 == "-" || $0 == "@" }
    }
}

/// An API key as stored: its SHA-256 hash and a short prefix to recognise it by, never the key.
public struct APIKeyRecord: Sendable, Equatable {
    public var id: UUID
    public var userID: UUID
    public var userName: String
    /// The first characters of the key (`rw_ab12cd`), shown in listings.
    public var prefix: String
    public var isAdmin: Bool
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: UUID, userID: UUID, userName: String, prefix: String, isAdmin: Bool, createdAt: Date, revokedAt: Date?) {
        self.id = id
        self.userID = userID
        self.userName = userName
        self.prefix = prefix
        self.isAdmin = isAdmin
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// Who is calling: resolved from a bearer key.
public struct Caller: Sendable, Equatable {
    public var userID: UUID
    public var userName: String
    public var keyID: UUID
    public var isAdmin: Bool

    public init(userID: UUID, userName: String, keyID: UUID, isAdmin: Bool) {
        self.userID = userID
        self.userName = userName
        self.keyID = keyID
        self.isAdmin = isAdmin
    }
}
