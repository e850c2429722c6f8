import Foundation

/// The two database engines RepoWatch runs on.
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgres
}

/// A value bound to a statement parameter. Engines map each case to their own types
/// (a `date` is `timestamptz` on PostgreSQL and integer microseconds on SQLite; a `uuid`
/// is `uuid` on PostgreSQL and lower-case text on SQLite; `json` is `json` / text).
public enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case bool(Bool)
    case date(Date)
    case uuid(UUID)
    case json(String)
}

/// A statement with its parameters, written once for both engines.
///
/// Build it by interpolation; every interpolated value becomes a bound parameter, never text:
/// ```swift
/// let sql: SQL = "SELECT id FROM repositories WHERE canonical_url = \(url.canonical)"
/// ```
/// The placeholder syntax is chosen at render time (`$1` on PostgreSQL, `?1` on SQLite).
/// Use `\(raw:)` only for fragments the code owns (identifiers, constants), and
/// `\(sqlite:postgres:)` for the rare construct that differs between engines.
public struct SQL: Sendable, ExpressibleByStringInterpolation {
    enum Part: Sendable {
        case literal(String)
        case bind(SQLValue)
        case dialect(sqlite: String, postgres: String)
    }
    var parts: [Part] = []
    /// Run as a server-side prepared statement where the engine supports it (PostgreSQL).
    public private(set) var isPrepared = false

    public init(stringLiteral value: String) { parts = [.literal(value)] }

    /// Marks a hot statement to be prepared once per connection and reused (PostgreSQL; a no-op on
    /// SQLite). Use it for statements whose text does not vary with their values.
    public func prepared() -> SQL {
        var copy = self
        copy.isPrepared = true
        return copy
    }

    public init(stringInterpolation: StringInterpolation) { parts = stringInterpolation.parts }

    public struct StringInterpolation: StringInterpolationProtocol {
        var parts: [Part] = []
        public init(literalCapacity: Int, interpolationCount: Int) {}
        public mutating func appendLiteral(_ literal: String) { parts.append(.literal(literal)) }
        public mutating func appendInterpolation(_ value: some SQLBindable) { parts.append(.bind(value.sqlValue)) }
        public mutating func appendInterpolation(_ value: (some SQLBindable)?) { parts.append(.bind(value?.sqlValue ?? .null)) }
        public mutating func appendInterpolation(_ value: SQLValue) { parts.append(.bind(value)) }
        public mutating func appendInterpolation(raw: String) { parts.append(.literal(raw)) }
        public mutating func appendInterpolation(sqlite: String, postgres: String) { parts.append(.dialect(sqlite: sqlite, postgres: postgres)) }
        public mutating func appendInterpolation(_ sql: SQL) { parts.append(contentsOf: sql.parts) }
    }

    /// Appends another fragment (for optional clauses).
    public static func + (lhs: SQL, rhs: SQL) -> SQL {
        var out = lhs
        out.parts += rhs.parts
        out.isPrepared = lhs.isPrepared && rhs.isPrepared
        return out
    }

    /// The statement text for `dialect` and its parameters in order.
    public func render(for dialect: SQLDialect) -> (text: String, binds: [SQLValue]) {
        var text = ""
        var binds: [SQLValue] = []
        for part in parts {
            switch part {
            case .literal(let s): text += s
            case .dialect(let sqlite, let postgres): text += dialect == .sqlite ? sqlite : postgres
            case .bind(let v):
                binds.append(v)
                text += dialect == .sqlite ? "?\(binds.count)" : "$\(binds.count)"
            }
        }
        return (text, binds)
    }
}

/// A Swift value that can be bound as a statement parameter.
public protocol SQLBindable: Sendable {
    var sqlValue: SQLValue { get }
}

extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Int: SQLBindable { public var sqlValue: SQLValue { .int(Int64(self)) } }
extension Int64: SQLBindable { public var sqlValue: SQLValue { .int(self) } }
extension Bool: SQLBindable { public var sqlValue: SQLValue { .bool(self) } }
extension Double: SQLBindable { public var sqlValue: SQLValue { .double(self) } }
extension Date: SQLBindable { public var sqlValue: SQLValue { .date(self) } }
extension UUID: SQLBindable { public var sqlValue: SQLValue { .uuid(self) } }

/// One result row; columns are read by name and converted from each engine's representation.
public protocol SQLRow: Sendable {
    func string(_ column: String) throws -> String?
    func int(_ column: String) throws -> Int64?
    func double(_ column: String) throws -> Double?
    func bool(_ column: String) throws -> Bool?
    func date(_ column: String) throws -> Date?
    func uuid(_ column: String) throws -> UUID?
}

extension SQLRow {
    /// Reads a column that must not be NULL.
    public func require<T>(_ column: String, _ read: (String) throws -> T?) throws -> T {
        guard let value = try read(column) else { throw StoreError.corrupt("column \(column) is NULL") }
        return value
    }
}

/// Runs statements on one connection (inside a transaction) or on the pool.
public protocol SQLExecutor: Sendable {
    var dialect: SQLDialect { get }
    /// Runs `sql` and returns every row it produced.
    func query(_ sql: SQL) async throws -> [any SQLRow]
}

extension SQLExecutor {
    /// Runs `sql` for its effect.
    public func execute(_ sql: SQL) async throws { _ = try await query(sql) }

    /// The first row, if any.
    public func first(_ sql: SQL) async throws -> (any SQLRow)? { try await query(sql).first }
}

/// Failures of the store that callers may tell apart.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    /// A row read back does not have the shape the schema promises.
    case corrupt(String)
    /// The database's schema is newer than this binary.
    case schemaTooNew(applied: Int, known: Int)
    /// A configuration problem (bad DATABASE_URL, unreadable data folder).
    case configuration(String)
    /// The database does not answer.
    case unreachable(String)
    /// A unique index refused a row (a race a caller may want to report as a conflict).
    case uniqueViolation(String)

    public var description: String {
        switch self {
        case .corrupt(let m): "store returned unexpected data: \(m)"
        case .schemaTooNew(let applied, let known):
            "the database schema is at version \(applied) but this binary knows only up to \(known); upgrade repowatch"
        case .configuration(let m), .unreachable(let m): m
        case .uniqueViolation(let m): "unique constraint violated: \(m)"
        }
    }
}
