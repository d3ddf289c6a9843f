import Foundation
import GRDB
import HawkerCommerce

/// The durable outbox: accepted checkouts and one delivery per merchant of record, in
/// SQLite through GRDB (WAL, `synchronous = FULL`: a commit is on disk when it returns).
///
/// `append` returns only once its checkout is committed, so a viewer is told
/// "accepted" only for what a `kill -9` right after cannot lose. Appends that arrive
/// while a commit is in flight are written together in the next one (group commit):
/// a checkout storm costs few fsyncs.
public actor SQLiteOutbox {
    private struct Pending {
        var reservation: Reservation
        var stream: String
        var continuation: CheckedContinuation<Void, any Error>?
    }

    private let pool: DatabasePool
    private var waiting: [Pending] = []
    private var writing = false
    /// Transactions committed by `append`, for metrics and tests of group commit.
    public private(set) var commits = 0
    public private(set) var appended = 0

    /// Opens (creating it if needed) the outbox database at `path` and migrates it.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // Durability over speed: every commit waits for the disk.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: checkouts and deliveries") { db in
            try db.execute(sql: """
                CREATE TABLE checkout (
                    id TEXT PRIMARY KEY NOT NULL,
                    stream TEXT NOT NULL,
                    buyer TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL,
                    reservation TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE delivery (
                    checkout_id TEXT NOT NULL REFERENCES checkout(id),
                    merchant TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    last_error TEXT,
                    reference TEXT,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (checkout_id, merchant)
                );
                CREATE INDEX delivery_due ON delivery(status, next_attempt_at);
                """)
        }
        return migrator
    }

    // MARK: - Appending

    /// Writes `reservation` and one pending delivery per merchant durably; returns when
    /// committed. Appending a checkout id that is already there changes nothing.
    public func append(_ reservation: Reservation, stream: String) async throws {
        if writing {
            try await withCheckedThrowingContinuation { continuation in
                waiting.append(Pending(reservation: reservation, stream: stream, continuation: continuation))
            }
            return
        }
        writing = true
        defer { writing = false }
        var own: Result<Void, any Error>?
        var batch = [Pending(reservation: reservation, stream: stream, continuation: nil)]
        while !batch.isEmpty {
            let result: Result<Void, any Error>
            do {
                try await write(batch)
                result = .success(())
            } catch {
                result = .failure(error)
            }
            for pending in batch {
                if let continuation = pending.continuation { continuation.resume(with: result) } else { own = result }
            }
            // Those that queued during this commit go together in the next.
            batch = waiting
            waiting = []
        }
        try own?.get()
    }

    private func write(_ batch: [Pending]) async throws {
        let rows = try batch.map { pending in
            (pending, String(decoding: try JSONEncoder().encode(pending.reservation), as: UTF8.self))
        }
        try await pool.write { db in
            for (pending, json) in rows {
                let reservation = pending.reservation
                try db.execute(
                    sql: "INSERT OR IGNORE INTO checkout (id, stream, buyer, idempotency_key, reservation, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [reservation.checkoutID, pending.stream, reservation.buyer, reservation.idempotencyKey, json, reservation.createdAt]
                )
                for merchant in reservation.merchants {
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO delivery (checkout_id, merchant, next_attempt_at, updated_at) VALUES (?, ?, ?, ?)",
                        arguments: [reservation.checkoutID, merchant, reservation.createdAt, reservation.createdAt]
                    )
                }
            }
        }
        commits += 1
        appended += batch.count
    }

    // MARK: - Relaying

    /// Pending deliveries whose next attempt is due at `now`, oldest first.
    public func due(now: Int64, limit: Int) async throws -> [OutboxDelivery] {
        try await deliveries(where: "d.status = 'pending' AND d.next_attempt_at <= ?", arguments: [now], limit: limit)
    }

    /// Every delivery of `checkoutID`.
    public func deliveries(of checkoutID: String) async throws -> [OutboxDelivery] {
        try await deliveries(where: "d.checkout_id = ?", arguments: [checkoutID], limit: 1_000)
    }

    public func deadLetters(limit: Int) async throws -> [OutboxDelivery] {
        try await deliveries(where: "d.status = 'dead_lettered'", arguments: [], limit: limit)
    }

    /// Records what an attempt led to.
    public func record(_ outcome: DeliveryOutcome, checkoutID: String, merchant: String, now: Int64) async throws {
        let (status, reference, error, next): (OutboxDelivery.Status, String?, String?, Int64?) = switch outcome {
        case .confirmed(let reference): (.confirmed, reference, nil, nil)
        case .rejected(let reason): (.rejected, nil, reason, nil)
        case .retry(let at, let error): (.pending, nil, error, at)
        case .deadLetter(let reason): (.deadLettered, nil, reason, nil)
        }
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE delivery SET status = ?, attempts = attempts + 1, reference = COALESCE(?, reference),
                        last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at), updated_at = ?
                    WHERE checkout_id = ? AND merchant = ?
                    """,
                arguments: [status.rawValue, reference, error, next, now, checkoutID, merchant]
            )
        }
    }

    /// Moves a delivery's next attempt to `until` without counting an attempt (its
    /// backend's circuit is open).
    public func postpone(checkoutID: String, merchant: String, until: Int64, now: Int64) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE delivery SET next_attempt_at = ?, updated_at = ? WHERE checkout_id = ? AND merchant = ? AND status = 'pending'",
                arguments: [until, now, checkoutID, merchant]
            )
        }
    }

    /// Puts a dead-lettered delivery back in the queue with a fresh set of attempts (an
    /// operator's re-drive, once the merchant's system is fixed).
    public func redrive(checkoutID: String, merchant: String, now: Int64) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE delivery SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE checkout_id = ? AND merchant = ? AND status = 'dead_lettered'",
                arguments: [now, now, checkoutID, merchant]
            )
            return db.changesCount > 0
        }
    }

    private func deliveries(where condition: String, arguments: StatementArguments, limit: Int) async throws -> [OutboxDelivery] {
        try await pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT d.checkout_id, d.merchant, d.status, d.attempts, d.next_attempt_at, d.last_error, d.reference,
                           c.stream, c.buyer, c.reservation, c.created_at
                    FROM delivery d JOIN checkout c ON c.id = d.checkout_id
                    WHERE \(condition) ORDER BY c.created_at, d.checkout_id, d.merchant LIMIT \(max(0, limit))
                    """,
                arguments: arguments
            )
            return try rows.map(Self.delivery)
        }
    }

    private static func delivery(_ row: Row) throws -> OutboxDelivery {
        let json: String = row["reservation"]
        let reservation = try JSONDecoder().decode(Reservation.self, from: Data(json.utf8))
        let merchant: String = row["merchant"]
        let status: String = row["status"]
        return OutboxDelivery(
            checkoutID: row["checkout_id"],
            merchant: merchant,
            stream: row["stream"],
            buyer: row["buyer"],
            lines: reservation.lines.filter { $0.merchant == merchant },
            region: reservation.region,
            attribution: reservation.attribution,
            status: OutboxDelivery.Status(rawValue: status) ?? .pending,
            attempts: row["attempts"],
            nextAttemptAt: row["next_attempt_at"],
            lastError: row["last_error"],
            reference: row["reference"],
            createdAt: row["created_at"]
        )
    }
}
