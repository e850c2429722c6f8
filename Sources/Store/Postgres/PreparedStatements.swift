import Logging
import PostgresNIO
import Synchronization

/// Server-side prepared statements for the hot queries, chosen in the code with ``SQL/prepared()``.
///
/// Planning a three-table join costs PostgreSQL four times its execution (pgbench on this query:
/// 9.3 k/s unprepared, 42.6 k/s prepared). postgres-nio prepares statements per connection, but only
/// for types whose SQL is a `static` property; this registry gives each distinct prepared SQL text a
/// numbered slot type, so statements written once with `SQL` interpolation can use it. Slots are
/// assigned on first use and never reused for other text, so a connection that prepared slot N
/// always finds the same statement there. Past the last slot, statements simply run unprepared.
enum PreparedStatements {
    private static let registry = Mutex<(texts: [String], slots: [String: Int])>(([], [:]))

    static func sql(_ slot: Int) -> String { registry.withLock { $0.texts[slot] } }

    /// The slot of `text`, assigning one if there is room.
    static func slot(for text: String) -> Int? {
        registry.withLock { r in
            if let slot = r.slots[text] { return slot }
            guard r.texts.count < slotTypes.count else { return nil }
            r.texts.append(text)
            r.slots[text] = r.texts.count - 1
            return r.texts.count - 1
        }
    }

    /// Runs `text` as the prepared statement of its slot.
    static func execute(
        slot: Int, bindings: PostgresBindings, on connection: PostgresConnection, logger: Logger
    ) async throws -> [PostgresRow] {
        try await slotTypes[slot].run(bindings: bindings, on: connection, logger: logger)
    }

    static let slotTypes: [any PreparedSlot.Type] = [
        Slot0.self, Slot1.self, Slot2.self, Slot3.self, Slot4.self, Slot5.self, Slot6.self, Slot7.self,
        Slot8.self, Slot9.self, Slot10.self, Slot11.self, Slot12.self, Slot13.self, Slot14.self, Slot15.self,
        Slot16.self, Slot17.self, Slot18.self, Slot19.self, Slot20.self, Slot21.self, Slot22.self, Slot23.self,
        Slot24.self, Slot25.self, Slot26.self, Slot27.self, Slot28.self, Slot29.self, Slot30.self, Slot31.self,
    ]
}

protocol PreparedSlot: Sendable {
    static var index: Int { get }
}

extension PreparedSlot {
    static func run(bindings: PostgresBindings, on connection: PostgresConnection, logger: Logger) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in try await connection.execute(SlotStatement<Self>(bindings: bindings), logger: logger) {
            rows.append(row)
        }
        return rows
    }
}

struct SlotStatement<Slot: PreparedSlot>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var name: String { "repowatch_\(Slot.index)" }
    static var sql: String { PreparedStatements.sql(Slot.index) }
    let bindings: PostgresBindings
    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

// swift-format-ignore
enum Slot0: PreparedSlot { static let index = 0 }
enum Slot1: PreparedSlot { static let index = 1 }
enum Slot2: PreparedSlot { static let index = 2 }
enum Slot3: PreparedSlot { static let index = 3 }
enum Slot4: PreparedSlot { static let index = 4 }
enum Slot5: PreparedSlot { static let index = 5 }
enum Slot6: PreparedSlot { static let index = 6 }
enum Slot7: PreparedSlot { static let index = 7 }
enum Slot8: PreparedSlot { static let index = 8 }
enum Slot9: PreparedSlot { static let index = 9 }
enum Slot10: PreparedSlot { static let index = 10 }
enum Slot11: PreparedSlot { static let index = 11 }
enum Slot12: PreparedSlot { static let index = 12 }
enum Slot13: PreparedSlot { static let index = 13 }
enum Slot14: PreparedSlot { static let index = 14 }
enum Slot15: PreparedSlot { static let index = 15 }
enum Slot16: PreparedSlot { static let index = 16 }
enum Slot17: PreparedSlot { static let index = 17 }
enum Slot18: PreparedSlot { static let index = 18 }
enum Slot19: PreparedSlot { static let index = 19 }
enum Slot20: PreparedSlot { static let index = 20 }
enum Slot21: PreparedSlot { static let index = 21 }
enum Slot22: PreparedSlot { static let index = 22 }
enum Slot23: PreparedSlot { static let index = 23 }
enum Slot24: PreparedSlot { static let index = 24 }
enum Slot25: PreparedSlot { static let index = 25 }
enum Slot26: PreparedSlot { static let index = 26 }
enum Slot27: PreparedSlot { static let index = 27 }
enum Slot28: PreparedSlot { static let index = 28 }
enum Slot29: PreparedSlot { static let index = 29 }
enum Slot30: PreparedSlot { static let index = 30 }
enum Slot31: PreparedSlot { static let index = 31 }
