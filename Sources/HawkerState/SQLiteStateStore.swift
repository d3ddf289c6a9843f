import Foundation
import GRDB
import HawkerCommerce
import HawkerProtocol
import Synchronization

/// The `StateStore` of a single gateway: SQLite in the data directory, beside the outbox.
///
/// WAL with `synchronous = NORMAL`: a commit is a write to the WAL and no fsync, so a
/// batch that `apply` returned for survives a `kill -9` of the gateway (the kernel holds
/// it); a power cut may lose the last commits before the next checkpoint. The journal
/// groups the events of many streams into one commit.
public final class SQLiteStateStore: SynchronousStateStore {
    private let pool: DatabasePool
    /// Closed: writes are refused as `.closed` (GRDB's own error would read to the journal
    /// as a failure that may pass, tried again for ever).
    private let closed = Atomic(false)

    /// Opens (creating it if needed) the state database at `path` and migrates it.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: streams, their events and rooms") { db in
            try db.execute(
                sql: """
                    CREATE TABLE stream (
                        id TEXT PRIMARY KEY NOT NULL,
                        epoch TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        owner TEXT,
                        room BLOB,
                        room_seq INTEGER,
                        room_saved_at INTEGER,
                        archived_at INTEGER,
                        position INTEGER NOT NULL
                    );
                    CREATE INDEX stream_archived ON stream(archived_at);
                    CREATE TABLE event (
                        stream TEXT NOT NULL REFERENCES stream(id),
                        seq INTEGER NOT NULL,
                        ts INTEGER NOT NULL,
                        payload BLOB NOT NULL,
                        PRIMARY KEY (stream, seq)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v2: stock on hand per merchant product, units held by accepted checkouts") { db in
            try db.execute(
                sql: """
                    CREATE TABLE stock (
                        merchant TEXT NOT NULL,
                        product TEXT NOT NULL,
                        on_hand INTEGER NOT NULL,
                        PRIMARY KEY (merchant, product)
                    ) WITHOUT ROWID;
                    CREATE TABLE reservation (
                        checkout_id TEXT NOT NULL,
                        merchant TEXT NOT NULL,
                        product TEXT NOT NULL,
                        units INTEGER NOT NULL,
                        PRIMARY KEY (checkout_id, merchant, product)
                    ) WITHOUT ROWID;
                    """)
        }
        // '' is the product's own level: variant ids are never empty.
        migrator.registerMigration("v3: stock per variant") { db in
            try db.execute(
                sql: """
                    CREATE TABLE stock_v3 (
                        merchant TEXT NOT NULL,
                        product TEXT NOT NULL,
                        variant TEXT NOT NULL,
                        on_hand INTEGER NOT NULL,
                        PRIMARY KEY (merchant, product, variant)
                    ) WITHOUT ROWID;
                    INSERT INTO stock_v3 SELECT merchant, product, '', on_hand FROM stock;
                    DROP TABLE stock;
                    ALTER TABLE stock_v3 RENAME TO stock;
                    CREATE TABLE reservation_v3 (
                        checkout_id TEXT NOT NULL,
                        merchant TEXT NOT NULL,
                        product TEXT NOT NULL,
                        variant TEXT NOT NULL,
                        units INTEGER NOT NULL,
                        PRIMARY KEY (checkout_id, merchant, product, variant)
                    ) WITHOUT ROWID;
                    INSERT INTO reservation_v3 SELECT checkout_id, merchant, product, '', units FROM reservation;
                    DROP TABLE reservation;
                    ALTER TABLE reservation_v3 RENAME TO reservation;
                    """)
        }
        return migrator
    }

    // MARK: - Reading

    public func load() async throws -> [StoredStream] {
        try await pool.read { db in
            var streams: [StoredStream] = []
            var index: [String: Int] = [:]
            // A row that does not read (a damaged file) is left out, not fatal: the streams
            // that read come back.
            for row in try Row.fetchAll(db, sql: "SELECT * FROM stream WHERE archived_at IS NULL ORDER BY position") {
                guard let stream = try? Self.stream(row) else { continue }
                index[stream.stream.rawValue] = streams.count
                streams.append(stream)
            }
            let events = try Row.fetchCursor(db, sql: "SELECT e.stream, e.seq, e.ts, e.payload FROM event e ORDER BY e.stream, e.seq")
            while let row = try events.next() {
                guard let id = Self.read(row, "stream", String.self), let position = index[id], let seq = try? Self.sequenceNumber(Self.read(row, "seq", Int64.self)), seq > 0,
                    let timestamp = Self.read(row, "ts", Int64.self), let payload = Self.read(row, "payload", Data.self)
                else { continue }
                streams[position].events.append(StoredEvent(seq: seq, timestamp: timestamp, payload: payload))
            }
            return streams
        }
    }

    public func loadInventory() async throws -> StoredInventory {
        try await pool.read { db in
            var inventory = StoredInventory()
            for row in try Row.fetchAll(db, sql: "SELECT merchant, product, variant, on_hand FROM stock") {
                guard let merchant = Self.read(row, "merchant", String.self), let product = Self.read(row, "product", String.self),
                    let variant = Self.read(row, "variant", String.self), let onHand = Self.read(row, "on_hand", Int64.self)
                else { continue }
                inventory.onHand[Self.sku(merchant, product, variant)] = onHand
            }
            var held: [String: [String: [SKU: Int64]]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT checkout_id, merchant, product, variant, units FROM reservation") {
                guard let checkout = Self.read(row, "checkout_id", String.self), let merchant = Self.read(row, "merchant", String.self),
                    let product = Self.read(row, "product", String.self), let variant = Self.read(row, "variant", String.self),
                    let units = Self.read(row, "units", Int64.self)
                else { continue }
                held[checkout, default: [:]][merchant, default: [:]][Self.sku(merchant, product, variant)] = units
            }
            for (checkout, parts) in held.sorted(by: { $0.key < $1.key }) {
                for (merchant, units) in parts.sorted(by: { $0.key < $1.key }) {
                    inventory.reservations.append(.init(checkoutID: checkout, merchant: merchant, units: units))
                }
            }
            return inventory
        }
    }

    public func archived(_ stream: StreamID) async throws -> StoredStream? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM stream WHERE id = ? AND archived_at IS NOT NULL", arguments: [stream.rawValue]).map(Self.stream)
        }
    }

    private static func stream(_ row: Row) throws -> StoredStream {
        // Optional reads throughout: GRDB traps on a non-optional read of a mismatched type.
        guard let id = Self.read(row, "id", String.self), let stream = StreamID(id), let epoch = Self.read(row, "epoch", String.self), let createdAt = Self.read(row, "created_at", Int64.self)
        else { throw StateStoreError(.corrupted, "a stored stream could not be read") }
        var stored = StoredStream(stream: stream, epoch: epoch, createdAt: createdAt, owner: Self.read(row, "owner", String.self), archivedAt: Self.read(row, "archived_at", Int64.self))
        if let data = Self.read(row, "room", Data.self) {
            stored.room = StoredRoom(seq: try sequenceNumber(Self.read(row, "room_seq", Int64.self)), savedAt: Self.read(row, "room_saved_at", Int64.self) ?? 0, data: [UInt8](data))
        }
        return stored
    }

    /// A column's value when it has the type asked for, else nil (GRDB's typed subscript
    /// traps on a mismatch; a damaged file must not crash the gateway).
    private static func read<Value: DatabaseValueConvertible>(_ row: Row, _ column: String, _ type: Value.Type) -> Value? {
        Value.fromDatabaseValue(row[column] as DatabaseValue)
    }

    /// Sequence numbers are stored as SQLite's signed 64-bit integers.
    private static func sequenceNumber(_ value: Int64?) throws -> UInt64 {
        guard let value, value >= 0 else { throw StateStoreError(.corrupted, "a stored sequence number could not be read") }
        return UInt64(value)
    }

    // MARK: - Writing

    @discardableResult
    public func apply(_ changes: [StateChange]) async throws -> Set<StreamID> {
        try checkOpen()
        guard !changes.isEmpty else { return [] }
        try await pool.writeWithoutTransaction { db in try Self.write(changes, db) }
        return []
    }

    /// On the caller's thread: GRDB runs a synchronous write there when its writer is free,
    /// so the journal's queue commits without a hop.
    @discardableResult
    public func applyNow(_ changes: [StateChange]) throws -> Set<StreamID> {
        try checkOpen()
        guard !changes.isEmpty else { return [] }
        try pool.writeWithoutTransaction { db in try Self.write(changes, db) }
        return []
    }

    private func checkOpen() throws {
        guard !closed.load(ordering: .relaxed) else { throw StateStoreError(.closed, "the state store is closed") }
    }

    private static func write(_ changes: [StateChange], _ db: Database) throws {
        try inTransaction(db) {
            for change in changes { try apply(change, db) }
        }
    }

    /// `BEGIN IMMEDIATE … COMMIT` through the statement cache. GRDB's `write` compiles its
    /// `BEGIN` and `COMMIT` from SQL text on every call: about 15 allocations per commit,
    /// and at a commit per event that was a fifth of what publishing an event allocates.
    private static func inTransaction(_ db: Database, _ body: () throws -> Void) throws {
        try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        do {
            try body()
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
        } catch {
            // A failed COMMIT may leave the transaction open (SQLITE_BUSY): end it. GRDB's
            // rollback ignores interruptions, so no transaction is left open (which GRDB
            // treats as a fatal error).
            try db.rollback()
            throw error
        }
    }

    private static func apply(_ change: StateChange, _ db: Database) throws {
        switch change {
        case .created(let stream, let epoch, let createdAt, let owner):
            try execute(db, "DELETE FROM event WHERE stream = ?", [stream.rawValue])
            try execute(
                db,
                """
                INSERT OR REPLACE INTO stream (id, epoch, created_at, owner, position)
                VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM stream))
                """,
                [stream.rawValue, epoch, createdAt, owner]
            )
        case .appended(let stream, let event):
            guard event.seq <= UInt64(Int64.max) else { throw StateStoreError(.conflict, "sequence number \(event.seq) is out of range") }
            // One statement per event: the key refuses a seq kept already, the foreign key
            // a stream that is not kept.
            do {
                try execute(db, "INSERT INTO event (stream, seq, ts, payload) VALUES (?, ?, ?, ?)", [stream.rawValue, Int64(event.seq), event.timestamp, event.payload])
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw StateStoreError(
                    try exists(stream, db) ? .conflict : .unknownStream, "event \(event.seq) of '\(stream.rawValue)' cannot be kept: \(error.message ?? "constraint")")
            }
        case .trimmed(let stream, let seq):
            try execute(db, "DELETE FROM event WHERE stream = ? AND seq <= ?", [stream.rawValue, Int64(clamping: seq)])
        case .roomSaved(let stream, let room):
            try execute(
                db, "UPDATE stream SET room = ?, room_seq = ?, room_saved_at = ? WHERE id = ?",
                [Data(room.data), Int64(clamping: room.seq), room.savedAt, stream.rawValue]
            )
            guard db.changesCount > 0 else { throw StateStoreError(.unknownStream, "no stream '\(stream.rawValue)' is kept") }
        case .archived(let stream, let at):
            try execute(db, "DELETE FROM event WHERE stream = ?", [stream.rawValue])
            try execute(db, "UPDATE stream SET archived_at = ? WHERE id = ?", [at, stream.rawValue])
        case .removed(let stream):
            try execute(db, "DELETE FROM event WHERE stream = ?", [stream.rawValue])
            try execute(db, "DELETE FROM stream WHERE id = ?", [stream.rawValue])
        case .stockOnHand(let sku, let onHand):
            if let onHand {
                try execute(
                    db, "INSERT OR REPLACE INTO stock (merchant, product, variant, on_hand) VALUES (?, ?, ?, ?)",
                    [sku.merchant, sku.product, sku.variant ?? "", onHand]
                )
            } else {
                try execute(db, "DELETE FROM stock WHERE merchant = ? AND product = ? AND variant = ?", [sku.merchant, sku.product, sku.variant ?? ""])
            }
        case .reservationOpened(let checkoutID, let merchant, let units):
            try execute(db, "DELETE FROM reservation WHERE checkout_id = ? AND merchant = ?", [checkoutID, merchant])
            for (sku, quantity) in units {
                try execute(
                    db, "INSERT INTO reservation (checkout_id, merchant, product, variant, units) VALUES (?, ?, ?, ?, ?)",
                    [checkoutID, merchant, sku.product, sku.variant ?? "", quantity]
                )
            }
        case .fence:
            break
        case .stockAdjusted(let sku, let delta, _):
            try execute(
                db, "UPDATE stock SET on_hand = MAX(0, on_hand + ?) WHERE merchant = ? AND product = ? AND variant = ?",
                [delta, sku.merchant, sku.product, sku.variant ?? ""]
            )
        case .reservationClosed(let checkoutID, let merchant, let confirmed):
            if confirmed {
                // The hold's units leave on hand, per SKU it held (its merchant is the hold's).
                try execute(
                    db,
                    """
                    UPDATE stock SET on_hand = MAX(0, on_hand - (
                        SELECT units FROM reservation r
                        WHERE r.checkout_id = ? AND r.merchant = ? AND r.product = stock.product AND r.variant = stock.variant))
                    WHERE merchant = ? AND EXISTS (
                        SELECT 1 FROM reservation r
                        WHERE r.checkout_id = ? AND r.merchant = ? AND r.product = stock.product AND r.variant = stock.variant)
                    """,
                    [checkoutID, merchant, merchant, checkoutID, merchant]
                )
            }
            try execute(db, "DELETE FROM reservation WHERE checkout_id = ? AND merchant = ?", [checkoutID, merchant])
        }
    }

    private static func sku(_ merchant: String, _ product: String, _ variant: String) -> SKU {
        SKU(merchant: merchant, product: product, variant: variant.isEmpty ? nil : variant)
    }

    private static func exists(_ stream: StreamID, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM stream WHERE id = ?"), arguments: [stream.rawValue]) ?? false
    }

    /// Through the connection's statement cache: hot statements are compiled once.
    private static func execute(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws {
        try db.cachedStatement(sql: sql).execute(arguments: arguments)
    }

    public func pruneArchive(before: Int64) async throws -> Int {
        try await pool.write { db in
            try Self.execute(db, "DELETE FROM stream WHERE archived_at IS NOT NULL AND archived_at < ?", [before])
            return db.changesCount
        }
    }

    public func close() async throws {
        closed.store(true, ordering: .relaxed)
        try pool.close()
    }
}
