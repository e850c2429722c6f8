import PostgresNIO
import SQLiteNIO
import _ConnectionPoolModule

/// Why a store operation failed, when the cause is the database's state rather than the request: the API
/// answers these with 503 and `Retry-After` (the client may simply try again), not with a 500.
public enum StoreUnavailable: String, Sendable, Equatable {
    /// The database cannot be reached now: no connection could be made, the server closed the connection or is
    /// shutting down or starting up, or it has no connection slot left.
    case unreachable = "database_unavailable"
    /// The database's disk is full (SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full`): nothing was written.
    case storageFull = "storage_full"

    /// What a client is told.
    public var message: String {
        switch self {
        case .unreachable: "the database is unavailable; try again shortly"
        case .storageFull: "the database's disk is full; nothing was written; try again once space is freed"
        }
    }

    /// The unavailability `error` reports, or nil when it is something else (a bug, a constraint, bad data).
    public static func classify(_ error: any Error) -> StoreUnavailable? {
        switch error {
        case StoreError.unreachable:
            return .unreachable
        case is ConnectionPoolError:
            return .unreachable
        case let error as PSQLError:
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
                return .unreachable
            case .server:
                guard let state = error.serverInfo?[.sqlState] else { return nil }
                if state == "53100" { return .storageFull }  // disk_full
                // 08: connection exception; 57: operator intervention (admin/crash shutdown, cannot connect now);
                // 53300: too many connections.
                if state.hasPrefix("08") || state.hasPrefix("57") || state == "53300" { return .unreachable }
                return nil
            default:
                return nil
            }
        case let error as SQLiteError:
            switch error.reason {
            case .full: return .storageFull
            case .busy, .locked, .busyTimeout, .ioError, .cantOpen: return .unreachable
            default: return nil
            }
        default:
            return nil
        }
    }
}
