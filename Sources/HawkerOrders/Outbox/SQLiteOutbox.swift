import Foundation
import GRDB
import HawkerCommerce
import HawkerProtocol
import NIOCore

/// The durable outbox: accepted checkouts and one delivery per merchant of record, in
/// SQLite through GRDB (WAL, `synchronous = FULL`: a commit is on disk when it returns).
///
/// Every write returns only once it is committed, so a viewer is told "accepted" only
/// for what a `kill -9` right after cannot lose. Writes that arrive while a commit is in
/// flight go together in the next one (group commit): one transaction, one fsync; if one
/// of them fails, the batch is written again with each write in a savepoint of its own,
/// so that only the failing one fails. A checkout storm costs few fsyncs.
public actor SQLiteOutbox: Outbox {
    private struct Pending {
        var work: @Sendable (Database) throws -> any Sendable
        var continuation: CheckedContinuation<any Sendable, any Error>?
    }

    let pool: DatabasePool
    private var waiting: [Pending] = []
    private var writing = false
    /// Transactions committed, and writes in them, for metrics and tests of group commit.
    public private(set) var commits = 0
    public private(set) var writes = 0
    public private(set) var appended = 0
    /// The (buyer, key) pairs stored, so that a new key skips the lookup.
    public nonisolated let acceptedKeys = AcceptedKeys()

    /// One gateway's file.
    public nonisolated var isShared: Bool { false }

    public nonisolated func mayHaveAccepted(buyer: String, idempotencyKey: String) -> Bool {
        acceptedKeys.mayContain(buyer: buyer, idempotencyKey: idempotencyKey)
    }

    public func commitCounts() -> (commits: Int, writes: Int) { (commits, writes) }

    /// Deliveries claimed by `claim` until when, by idempotency key; an outcome ends one.
    var claims: [String: Int64] = [:]
    /// When the earliest pending buyer's request is due (nil: none; `.min`: not known yet),
    /// so that the relay's polls read the request table only when there is something in
    /// it. Written by every change of a request's due time; `requestsDueVersion` tells a
    /// poll that read before such a change not to overwrite it.
    var requestsDueAt: Int64? = .min
    var requestsDueVersion = 0

    /// Opens (creating it if needed) the outbox database at `path` and migrates it.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // Durability over speed: every commit waits for the disk.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        // The influencer codes share the file (SQLiteDocumentStore): a commit waits
        // for one of theirs instead of failing.
        configuration.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
        let keys = acceptedKeys
        try pool.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT buyer, idempotency_key FROM checkout")
            var hashes: [UInt64] = []
            while let row = try rows.next() { hashes.append(AcceptedKeys.hash(buyer: row["buyer"], idempotencyKey: row["idempotency_key"])) }
            keys.insert(hashes)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: checkouts and deliveries") { db in
            try db.execute(
                sql: """
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
        migrator.registerMigration("v2: one checkout per buyer and key; notices for buyers") { db in
            // A retry after a restart (the room's memory of keys is gone) finds the first
            // checkout here instead of making a second one.
            try db.execute(
                sql: """
                    CREATE UNIQUE INDEX checkout_buyer_key ON checkout(buyer, idempotency_key);
                    CREATE INDEX delivery_merchant ON delivery(merchant, status);
                    ALTER TABLE delivery ADD COLUMN redriven_at INTEGER;
                    CREATE TABLE notice (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        buyer TEXT NOT NULL,
                        checkout_id TEXT NOT NULL,
                        stream TEXT NOT NULL,
                        type TEXT NOT NULL,
                        body TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        delivered INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX notice_undelivered ON notice(buyer, delivered, id);
                    """)
        }
        migrator.registerMigration("v3: the credited lines of influencers' codes") { db in
            // Kept when settled orders are pruned: it is what an influencer was paid for.
            try db.execute(
                sql: """
                    CREATE TABLE earning (
                        checkout_id TEXT NOT NULL,
                        line INTEGER NOT NULL,
                        merchant TEXT NOT NULL,
                        stream TEXT NOT NULL,
                        influencer TEXT NOT NULL,
                        code TEXT NOT NULL,
                        source TEXT NOT NULL,
                        product TEXT NOT NULL,
                        quantity INTEGER NOT NULL,
                        amount INTEGER NOT NULL,
                        commission INTEGER NOT NULL,
                        currency TEXT NOT NULL,
                        status TEXT NOT NULL DEFAULT 'pending',
                        created_at INTEGER NOT NULL,
                        settled_at INTEGER,
                        PRIMARY KEY (checkout_id, line)
                    );
                    CREATE INDEX earning_influencer ON earning(influencer, created_at);
                    CREATE INDEX earning_part ON earning(checkout_id, merchant);
                    """)
        }
        migrator.registerMigration("v4: buyers' order history") { db in
            try db.execute(sql: "CREATE INDEX checkout_buyer_created ON checkout(buyer, created_at, id)")
        }
        migrator.registerMigration("v5: cancellations and returns") { db in
            try db.execute(
                sql: """
                    CREATE TABLE reversal (
                        checkout_id TEXT NOT NULL,
                        merchant TEXT NOT NULL,
                        id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        units TEXT NOT NULL,
                        restock INTEGER NOT NULL,
                        restocked INTEGER NOT NULL DEFAULT 0,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (checkout_id, merchant, id)
                    )
                    """)
        }
        migrator.registerMigration("v6: a delivery per party (dropship)") { db in
            // A supplier's shipment for a seller is a part of its own: the key gains the
            // seller (a sale's is its merchant). SQLite changes a key by copying the table.
            try db.execute(
                sql: """
                    CREATE TABLE delivery_v6 (
                        checkout_id TEXT NOT NULL REFERENCES checkout(id),
                        merchant TEXT NOT NULL,
                        seller TEXT NOT NULL,
                        status TEXT NOT NULL DEFAULT 'pending',
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at INTEGER NOT NULL,
                        last_error TEXT,
                        reference TEXT,
                        updated_at INTEGER NOT NULL,
                        redriven_at INTEGER,
                        PRIMARY KEY (checkout_id, merchant, seller)
                    );
                    INSERT INTO delivery_v6 (checkout_id, merchant, seller, status, attempts, next_attempt_at, last_error, reference, updated_at, redriven_at)
                        SELECT checkout_id, merchant, merchant, status, attempts, next_attempt_at, last_error, reference, updated_at, redriven_at FROM delivery;
                    DROP TABLE delivery;
                    ALTER TABLE delivery_v6 RENAME TO delivery;
                    CREATE INDEX delivery_due ON delivery(status, next_attempt_at);
                    CREATE INDEX delivery_merchant ON delivery(merchant, status);
                    CREATE INDEX delivery_seller ON delivery(checkout_id, seller, status);
                    """)
        }
        migrator.registerMigration("v7: influencers' funnels") { db in
            try db.execute(
                sql: """
                    CREATE TABLE funnel (
                        influencer TEXT NOT NULL,
                        code TEXT NOT NULL,
                        stream TEXT NOT NULL,
                        day INTEGER NOT NULL,
                        visits INTEGER NOT NULL DEFAULT 0,
                        add_to_cart INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY (influencer, day, stream, code)
                    )
                    """)
        }
        migrator.registerMigration("v8: buyers' requests") { db in
            try db.execute(
                sql: """
                    CREATE TABLE request (
                        checkout_id TEXT NOT NULL,
                        merchant TEXT NOT NULL,
                        id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        units TEXT NOT NULL,
                        reason TEXT,
                        status TEXT NOT NULL DEFAULT 'pending',
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at INTEGER NOT NULL,
                        last_error TEXT,
                        answer TEXT,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        PRIMARY KEY (checkout_id, merchant, id)
                    );
                    CREATE INDEX request_due ON request(status, next_attempt_at);
                    """)
        }
        migrator.registerMigration("v9: units withdrawn from a shipment not sent yet") { db in
            try db.execute(sql: "ALTER TABLE delivery ADD COLUMN withdrawn TEXT")
        }
        return migrator
    }

    // MARK: - Group commit

    /// Runs `work` in the next commit and returns its result once that commit is on disk.
    /// Callers wait for their own commit only: a separate drain task writes batch after
    /// batch while writes keep arriving.
    func commit<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let erased: @Sendable (Database) throws -> any Sendable = { try work($0) }
        let value = try await withCheckedThrowingContinuation { continuation in
            waiting.append(Pending(work: erased, continuation: continuation))
            if !writing {
                writing = true
                Task { await self.drain() }
            }
        }
        return value as! T
    }

    /// Commits what is queued, then what queued meanwhile, until nothing is left.
    private func drain() async {
        while !waiting.isEmpty {
            let batch = waiting
            waiting = []
            let results = await write(batch)
            for (pending, result) in zip(batch, results) { pending.continuation?.resume(with: result) }
        }
        writing = false
    }

    private func write(_ batch: [Pending]) async -> [Result<any Sendable, any Error>] {
        let works = batch.map(\.work)
        do {
            let results = try await pool.writeWithoutTransaction { db -> [Result<any Sendable, any Error>] in
                do {
                    // The common case: everything in one transaction, one fsync.
                    var results: [Result<any Sendable, any Error>] = []
                    try db.inTransaction {
                        results = try works.map { .success(try $0(db)) }
                        return .commit
                    }
                    return results
                } catch {
                    // One of them failed: again, each in a savepoint, so that only it fails.
                    var results: [Result<any Sendable, any Error>] = []
                    try db.inTransaction {
                        results = works.map { work in
                            var result: Result<any Sendable, any Error> = .failure(CancellationError())
                            do {
                                try db.inSavepoint {
                                    result = .success(try work(db))
                                    return .commit
                                }
                            } catch {
                                result = .failure(error)
                            }
                            return result
                        }
                        return .commit
                    }
                    return results
                }
            }
            commits += 1
            writes += batch.count
            return results
        } catch {
            return batch.map { _ in .failure(error) }
        }
    }

    /// Runs `sql` through the connection's statement cache (hot statements are compiled
    /// once, not per checkout).
    static func execute(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws {
        try db.cachedStatement(sql: sql).execute(arguments: arguments)
    }

    // MARK: - Appending

    /// Writes `reservation` and one pending delivery per merchant durably; returns when
    /// committed. Returns what is stored: `reservation`, or the checkout the same buyer
    /// made earlier with the same idempotency key (then nothing new is written).
    @discardableResult
    public func append(_ reservation: Reservation, stream: StreamID, trace: [String: String]) async throws -> Reservation {
        let json = OutboxCoding.encodeCheckout(reservation, trace: trace)
        // Before the commit: from then on a retry with this key must look it up.
        acceptedKeys.insert(buyer: reservation.buyer, idempotencyKey: reservation.idempotencyKey)
        let stored = try await commit { db -> Reservation in
            try Self.execute(
                db, "INSERT OR IGNORE INTO checkout (id, stream, buyer, idempotency_key, reservation, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [reservation.checkoutID, stream.rawValue, reservation.buyer, reservation.idempotencyKey, json, reservation.createdAt]
            )
            guard db.changesCount > 0 else {
                // Stored before (same id, or the same buyer and key): that one stands.
                let earlier = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT reservation FROM checkout WHERE (buyer = ? AND idempotency_key = ?) OR id = ?"),
                    arguments: [reservation.buyer, reservation.idempotencyKey, reservation.checkoutID]
                )
                guard let earlier else { throw OutboxCorruption(description: "a conflicting checkout vanished") }
                return try OutboxCoding.decodeReservation(earlier)
            }
            for party in reservation.parties {
                // A shipment waits for its seller's confirmation (`record`).
                try Self.execute(
                    db, "INSERT INTO delivery (checkout_id, merchant, seller, status, next_attempt_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        reservation.checkoutID, party.merchant, party.seller, party.isShipment ? OutboxDelivery.Status.held.rawValue : OutboxDelivery.Status.pending.rawValue,
                        reservation.createdAt, reservation.createdAt,
                    ]
                )
            }
            for (index, line) in reservation.lines.enumerated() {
                guard let credit = line.credit else { continue }
                try Self.execute(
                    db,
                    """
                    INSERT INTO earning (checkout_id, line, merchant, stream, influencer, code, source, product, quantity, amount, commission, currency, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        reservation.checkoutID, index, line.merchant, stream.rawValue, credit.influencer, credit.code, credit.source.rawValue, line.product,
                        line.quantity, line.amount, credit.commission, line.currency, reservation.createdAt,
                    ]
                )
            }
            return reservation
        }
        if stored.checkoutID == reservation.checkoutID { appended += 1 }
        return stored
    }

    /// The checkout `buyer` made with `idempotencyKey`, if one was accepted (committed), and
    /// its stream: what a retry with that key gets back before anything else is checked.
    public func accepted(buyer: String, idempotencyKey: String) async throws -> (reservation: Reservation, stream: StreamID)? {
        let stored = try await pool.read { db -> (stream: String, reservation: String)? in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT stream, reservation FROM checkout WHERE buyer = ? AND idempotency_key = ?"),
                arguments: [buyer, idempotencyKey]
            ).map { ($0["stream"], $0["reservation"]) }
        }
        guard let stored else { return nil }
        return (try OutboxCoding.decodeReservation(stored.reservation), try OutboxCoding.streamID(stored.stream))
    }

    // MARK: - Relaying

    /// Pending deliveries whose next attempt is due at `now`, oldest first, leaving out
    /// those whose idempotency key is in `excluding` (out already) before decoding them.
    public func due(now: Int64, limit: Int, excluding: Set<String>) async throws -> [OutboxDelivery] {
        // In order of next attempt (a new delivery's is its checkout's time): the
        // delivery_due index answers it without sorting the whole backlog.
        try await deliveries(
            where: "d.status = 'pending' AND d.next_attempt_at <= ?", arguments: [now], order: "d.next_attempt_at",
            limit: limit + excluding.count, excluding: excluding
        ).prefix(limit).map { $0 }
    }

    /// One process relays from this file: claims are kept in memory (as many as deliveries
    /// in flight), not written.
    public func claim(
        now: Int64, limit: Int, claimMilliseconds: Int64, excluding: Set<String>, skipping: Set<String>, skippingUnlessBefore: Int64
    ) async throws -> [OutboxDelivery] {
        claims = claims.filter { $0.value > now }
        let taken = excluding.union(claims.keys)
        let claimed = try await unclaimed(now: now, limit: limit, excluding: taken, skipping: skipping, skippingUnlessBefore: skippingUnlessBefore)
        let (until, overflow) = now.addingReportingOverflow(claimMilliseconds)
        for delivery in claimed { claims[delivery.idempotencyKey] = overflow ? .max : until }
        return claimed
    }

    private func unclaimed(now: Int64, limit: Int, excluding: Set<String>, skipping: Set<String>, skippingUnlessBefore: Int64) async throws -> [OutboxDelivery] {
        guard !skipping.isEmpty else { return try await due(now: now, limit: limit, excluding: excluding) }
        var arguments: StatementArguments = [now]
        let placeholders = skipping.map { _ in "?" }.joined(separator: ", ")
        arguments += StatementArguments(Array(skipping))
        arguments += [skippingUnlessBefore]
        return try await deliveries(
            where: "d.status = 'pending' AND d.next_attempt_at <= ? AND (d.merchant NOT IN (\(placeholders)) OR COALESCE(d.redriven_at, c.created_at) < ?)",
            arguments: arguments, order: "d.next_attempt_at", limit: limit + excluding.count, excluding: excluding
        ).prefix(limit).map { $0 }
    }

    /// Every delivery of `checkoutID`.
    public func deliveries(of checkoutID: String) async throws -> [OutboxDelivery] {
        try await deliveries(where: "d.checkout_id = ?", arguments: [checkoutID], limit: 1_000)
    }

    /// Checkouts a restarted gateway's rooms may not know all of: created after `since`,
    /// or with a part still on its way or recorded after `since`: the newest `limit`, oldest
    /// first.
    public func checkouts(touchedSince since: Int64, limit: Int) async throws -> [StoredCheckout] {
        try await pool.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT c.id, c.stream, c.reservation, d.merchant, d.status, d.updated_at, d.redriven_at
                    FROM checkout c JOIN delivery d ON d.checkout_id = c.id AND d.seller = d.merchant
                    WHERE c.id IN (
                        SELECT c2.id FROM checkout c2 WHERE c2.created_at > ? OR EXISTS (
                            SELECT 1 FROM delivery d2 WHERE d2.checkout_id = c2.id AND d2.seller = d2.merchant AND (d2.status = 'pending' OR d2.updated_at > ?))
                        ORDER BY c2.created_at DESC, c2.id DESC LIMIT ?)
                    ORDER BY c.created_at, c.id, d.merchant
                    """,
                arguments: [since, since, max(0, limit)]
            )
            var checkouts: [StoredCheckout] = []
            while let row = try rows.next() {
                let id: String = row["id"]
                // A row that does not read is left out, not fatal (as `due` does).
                guard let status = OutboxDelivery.Status(rawValue: row["status"]) else { continue }
                let part = StoredCheckout.Part(
                    merchant: row["merchant"], status: status, updatedAt: row["updated_at"], redriven: (row["redriven_at"] as Int64?) != nil
                )
                if let last = checkouts.last, last.reservation.checkoutID == id {
                    checkouts[checkouts.count - 1].parts.append(part)
                    continue
                }
                guard let reservation = try? OutboxCoding.decodeReservation(row["reservation"]), let stream = try? OutboxCoding.streamID(row["stream"]) else { continue }
                checkouts.append(StoredCheckout(reservation: reservation, stream: stream, parts: [part]))
            }
            return checkouts
        }
    }

    public func history(of buyer: String, after: String?, limit: Int) async throws -> BuyerOrder.Page {
        let page = min(max(0, limit), BuyerOrder.maxPage)
        return try await pool.read { db in
            // Newest first; a page goes on after the last checkout of the one before.
            let checkouts = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, stream, reservation FROM checkout WHERE buyer = ?
                    AND (? IS NULL OR (created_at, id) < (SELECT created_at, id FROM checkout WHERE id = ? AND buyer = ?))
                    ORDER BY created_at DESC, id DESC LIMIT ?
                    """,
                arguments: [buyer, after, after, buyer, page])
            var orders: [BuyerOrder] = []
            // A full page goes on after its last row, read or not.
            let nextAfter: String? = checkouts.count == page && page > 0 ? checkouts.last?["id"] : nil
            for row in checkouts {
                // A row that does not read is left out, not fatal (as `due` does).
                guard let reservation = try? OutboxCoding.decodeReservation(row["reservation"]), let stream = try? OutboxCoding.streamID(row["stream"]) else {
                    continue
                }
                let id: String = row["id"]
                let parts = try Row.fetchAll(db, sql: "SELECT merchant, status, reference FROM delivery WHERE checkout_id = ? AND seller = merchant ORDER BY merchant", arguments: [id])
                    .compactMap { part -> BuyerOrder.Part? in
                        OutboxDelivery.Status(rawValue: part["status"]).map { BuyerOrder.Part(merchant: part["merchant"], status: $0, reference: part["reference"]) }
                    }
                var order = BuyerOrder(reservation: reservation, stream: stream, parts: parts)
                order.apply(
                    requests: try Row.fetchAll(db, sql: "SELECT * FROM request WHERE checkout_id = ? ORDER BY created_at, id", arguments: [id]).compactMap {
                        Self.request($0, lines: reservation.lines)
                    })
                order.apply(
                    reversals: try Row.fetchAll(db, sql: "SELECT merchant, units FROM reversal WHERE checkout_id = ?", arguments: [id]).map {
                        (merchant: $0["merchant"] as String, units: $0["units"] as String)
                    })
                let updates = try String.fetchAll(
                    db, sql: "SELECT body FROM notice WHERE buyer = ? AND checkout_id = ? AND type = 'order.status' ORDER BY id", arguments: [buyer, id])
                order.apply(updates: updates)
                orders.append(order)
            }
            return BuyerOrder.Page(orders: orders, nextAfter: nextAfter)
        }
    }

    public func reverse(_ reversal: PartReversal, now: Int64) async throws -> Result<ReversalRecord, PartReversal.Refusal> {
        // What this relay is delivering now is out already.
        let inFlight = Set(claims.filter { $0.value > now }.keys)
        return try await commit { db -> Result<ReversalRecord, PartReversal.Refusal> in
            guard
                let part = try Row.fetchOne(
                    db,
                    sql: "SELECT d.status, c.reservation, c.stream FROM delivery d JOIN checkout c ON c.id = d.checkout_id WHERE d.checkout_id = ? AND d.merchant = ? AND d.seller = d.merchant",
                    arguments: [reversal.checkoutID, reversal.merchant]),
                let reservation = try? OutboxCoding.decodeReservation(part["reservation"]), let stream = try? OutboxCoding.streamID(part["stream"])
            else { return .failure(.unknownPart) }
            let lines = reservation.lines
            func record(_ units: [Int: Int64], restockDue: Bool, replayed: Bool) -> ReversalRecord {
                ReversalRecord(
                    units: units, restockDue: restockDue, replayed: replayed, lines: lines, buyer: reservation.buyer, stream: stream,
                    purchasedAt: reservation.createdAt)
            }
            if let done = try Row.fetchOne(
                db, sql: "SELECT units, restock, restocked FROM reversal WHERE checkout_id = ? AND merchant = ? AND id = ?",
                arguments: [reversal.checkoutID, reversal.merchant, reversal.id])
            {
                let restock: Bool = done["restock"]
                let restocked: Bool = done["restocked"]
                let units = PartReversal.decode(done["units"])
                // Accepting a request repeats only the acceptance of that request (a return
                // id the merchant used for another return is no acceptance of it).
                let acceptedBefore =
                    try reversal.request.map { request in
                        try String.fetchOne(
                            db, sql: "SELECT status FROM request WHERE checkout_id = ? AND merchant = ? AND id = ?",
                            arguments: [reversal.checkoutID, reversal.merchant, request]) == BuyerRequest.Status.accepted.rawValue
                    } ?? true
                guard acceptedBefore, reversal.repeats(units: units, restock: restock, lines: lines) else {
                    return .failure(.invalid("return_id '\(reversal.id)' was used for another return of this order: give this one its own"))
                }
                return .success(record(units, restockDue: restock && !restocked, replayed: true))
            }
            guard (part["status"] as String) == OutboxDelivery.Status.confirmed.rawValue else { return .failure(.notConfirmed) }
            let earlier = try String.fetchAll(
                db, sql: "SELECT units FROM reversal WHERE checkout_id = ? AND merchant = ?", arguments: [reversal.checkoutID, reversal.merchant]
            ).map(PartReversal.decode)
            // The buyer's request it accepts: its units unless the merchant names others.
            var accepted: BuyerRequest?
            if let requestID = reversal.request,
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM request WHERE checkout_id = ? AND merchant = ? AND id = ?", arguments: [reversal.checkoutID, reversal.merchant, requestID])
            {
                accepted = Self.request(row, lines: lines)
            }
            let items: [PartReversal.Item]?
            switch reversal.accepting(accepted.map { ($0.kind.rawValue, $0.status.rawValue, PartReversal.encode($0.units)) }) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let named): items = named ?? accepted?.items
            }
            let units: [Int: Int64]
            switch PartReversal.plan(lines: lines, merchant: reversal.merchant, earlier: earlier, items: items) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let planned): units = planned
            }
            try Self.execute(
                db, "INSERT INTO reversal (checkout_id, merchant, id, kind, units, restock, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [reversal.checkoutID, reversal.merchant, reversal.id, reversal.kind.rawValue, PartReversal.encode(units), reversal.restock, now])
            var requestNotice: OrderNotice?
            if var accepted {
                try Self.execute(
                    db, "UPDATE request SET status = 'accepted', updated_at = ? WHERE checkout_id = ? AND merchant = ? AND id = ?",
                    [now, reversal.checkoutID, reversal.merchant, accepted.id])
                accepted.status = .accepted
                accepted.updatedAt = now
                var notice = accepted.notice(buyer: reservation.buyer, stream: stream, now: now)
                try Self.insert(try Self.row(notice), db)
                notice.id = db.lastInsertedRowID
                requestNotice = notice
            }
            // A cancellation stops what its suppliers were not sent yet (held, or never
            // tried): nothing ships for a cancelled order. One tried (maybe out) is theirs.
            if reversal.kind == .cancelled {
                // Some units of a supplier's lines: its shipment, not sent yet, carries less.
                let cancellations =
                    try String.fetchAll(
                        db, sql: "SELECT units FROM reversal WHERE checkout_id = ? AND merchant = ? AND kind = 'cancelled'",
                        arguments: [reversal.checkoutID, reversal.merchant]
                    ).map(PartReversal.decode)
                for supplier in PartReversal.partlyCancelledSuppliers(lines: lines, seller: reversal.merchant, earlier: earlier, units: units)
                where !inFlight.contains(OutboxDelivery.idempotencyKey(checkoutID: reversal.checkoutID, party: Party(merchant: supplier, seller: reversal.merchant))) {
                    let withdrawn = PartReversal.withdrawn(lines: lines, seller: reversal.merchant, supplier: supplier, cancellations: cancellations)
                    try Self.execute(
                        db,
                        """
                        UPDATE delivery SET withdrawn = ?, updated_at = ?
                        WHERE checkout_id = ? AND merchant = ? AND seller = ? AND (status = 'held' OR (status IN ('pending', 'dead_lettered') AND attempts = 0)
                            OR (status = 'dead_lettered' AND substr(last_error, 1, ?) = ?))
                        """,
                        [
                            PartReversal.encode(withdrawn), now, reversal.checkoutID, supplier, reversal.merchant, PartReversal.refusedBySupplier.count,
                            PartReversal.refusedBySupplier,
                        ])
                }
                for supplier in PartReversal.cancelledSuppliers(lines: lines, seller: reversal.merchant, earlier: earlier, units: units)
                where !inFlight.contains(OutboxDelivery.idempotencyKey(checkoutID: reversal.checkoutID, party: Party(merchant: supplier, seller: reversal.merchant))) {
                    try Self.execute(
                        db,
                        """
                        UPDATE delivery SET status = 'rejected', last_error = ?, updated_at = ?
                        WHERE checkout_id = ? AND merchant = ? AND seller = ? AND (status = 'held' OR (status IN ('pending', 'dead_lettered') AND attempts = 0)
                            OR (status = 'dead_lettered' AND substr(last_error, 1, ?) = ?))
                        """,
                        [
                            PartReversal.cancelledShipment, now, reversal.checkoutID, supplier, reversal.merchant, PartReversal.refusedBySupplier.count,
                            PartReversal.refusedBySupplier,
                        ])
                }
            }
            // Each credited line's share moves from what it earned to what was taken back
            // (a row of its own, keyed by the line's index below zero).
            for (index, taken) in units.sorted(by: { $0.key < $1.key }) {
                guard
                    let earned = try Row.fetchOne(
                        db, sql: "SELECT * FROM earning WHERE checkout_id = ? AND line = ?", arguments: [reversal.checkoutID, index])
                else { continue }
                let share = EarningsReport.share(amount: earned["amount"], commission: earned["commission"], quantity: earned["quantity"], units: taken)
                try Self.execute(
                    db, "UPDATE earning SET quantity = quantity - ?, amount = amount - ?, commission = commission - ? WHERE checkout_id = ? AND line = ?",
                    [min(taken, earned["quantity"] as Int64), share.amount, share.commission, reversal.checkoutID, index])
                try Self.execute(
                    db,
                    """
                    INSERT INTO earning (checkout_id, line, merchant, stream, influencer, code, source, product, quantity, amount, commission, currency, status, created_at, settled_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'returned', ?, ?)
                    ON CONFLICT (checkout_id, line) DO UPDATE SET quantity = quantity + excluded.quantity, amount = amount + excluded.amount,
                        commission = commission + excluded.commission, settled_at = excluded.settled_at
                    """,
                    [
                        reversal.checkoutID, -1 - index, earned["merchant"] as String, earned["stream"] as String, earned["influencer"] as String,
                        earned["code"] as String, earned["source"] as String, earned["product"] as String, min(taken, earned["quantity"] as Int64),
                        share.amount, share.commission, earned["currency"] as String, earned["created_at"] as Int64, now,
                    ])
                // A line taken back whole earned nothing: only its returned row stays.
                try Self.execute(db, "DELETE FROM earning WHERE checkout_id = ? AND line = ? AND quantity = 0", [reversal.checkoutID, index])
            }
            // The buyer's notice in the same commit: a crash cannot record the return unheard.
            var notice = reversal.notice(lines: lines, units: units, buyer: reservation.buyer, stream: stream, now: now)
            try Self.insert(try Self.row(notice), db)
            notice.id = db.lastInsertedRowID
            var recorded = record(units, restockDue: reversal.restock, replayed: false)
            recorded.notice = notice
            recorded.requestNotice = requestNotice
            return .success(recorded)
        }
    }

    public func markRestocked(checkoutID: String, merchant: String, id: String, restocked: Bool) async throws -> Bool {
        try await commit { db in
            try Self.execute(
                db, "UPDATE reversal SET restocked = ? WHERE checkout_id = ? AND merchant = ? AND id = ? AND restocked = ?",
                [restocked, checkoutID, merchant, id, !restocked])
            return db.changesCount > 0
        }
    }

    public func deadLetters(limit: Int) async throws -> [OutboxDelivery] {
        try await deliveries(where: "d.status = 'dead_lettered'", arguments: [], limit: limit)
    }

    /// Records what an attempt led to, and in the same commit the notice for the buyer.
    /// Returns the stored notice's id. `attempted` is false when the outcome was decided
    /// without calling the backend (a delivery given up on for its age): no attempt is
    /// counted then.
    @discardableResult
    public func record(
        _ outcome: DeliveryOutcome, checkoutID: String, party: Party, now: Int64, attempted: Bool, notice: OrderNotice?
    ) async throws -> (applied: Bool, noticeID: Int64?) {
        let (status, reference, error, next) = outcome.columns
        let noticeRow = try notice.map(Self.row)
        claims[OutboxDelivery.idempotencyKey(checkoutID: checkoutID, party: party)] = nil
        return try await commit { db -> (applied: Bool, noticeID: Int64?) in
            try Self.execute(
                db,
                """
                UPDATE delivery SET status = ?, attempts = attempts + ?, reference = COALESCE(?, reference),
                    last_error = COALESCE(?, last_error), next_attempt_at = COALESCE(?, next_attempt_at), updated_at = ?
                WHERE checkout_id = ? AND merchant = ? AND seller = ? AND status = 'pending'
                """,
                [status.rawValue, attempted ? 1 : 0, reference, error, next, now, checkoutID, party.merchant, party.seller]
            )
            guard db.changesCount > 0 else { return (false, nil) }
            if !party.isShipment, let earned = EarningsReport.Status(outcome) {
                try Self.execute(
                    db, "UPDATE earning SET status = ?, settled_at = ? WHERE checkout_id = ? AND merchant = ? AND status <> 'returned'",
                    [earned.rawValue, now, checkoutID, party.merchant])
            }
            if !party.isShipment, let release = ShipmentRelease(outcome) {
                try Self.execute(
                    db,
                    """
                    UPDATE delivery SET status = ?, next_attempt_at = ?, last_error = ?, updated_at = ?, redriven_at = ?
                    WHERE checkout_id = ? AND seller = ? AND merchant <> seller AND status = 'held'
                    """,
                    [release.status.rawValue, now, release.error, now, release.ageFrom(now), checkoutID, party.seller])
            }
            guard let noticeRow else { return (true, nil) }
            try Self.insert(noticeRow, db)
            return (true, db.lastInsertedRowID)
        }
    }

    // MARK: - Retention

    /// Deletes what is settled and older than `before`: confirmed and rejected orders
    /// (dead letters stay until an operator re-drives them), checkouts with no order
    /// left (and with them their idempotency keys), and notices. Returns the checkouts
    /// and notices deleted.
    @discardableResult
    public func prune(before: Int64) async throws -> (checkouts: Int, notices: Int) {
        let pruned = try await commit { db -> (checkouts: Int, notices: Int, forgotten: [UInt64]) in
            // A checkout's parts go together, once all are settled and old: a buyer's history
            // never shows an order with some of its parts gone.
            try Self.execute(
                db,
                """
                DELETE FROM delivery WHERE status IN ('confirmed', 'rejected') AND updated_at < ?
                    AND NOT EXISTS (
                        SELECT 1 FROM delivery d2
                        WHERE d2.checkout_id = delivery.checkout_id AND (d2.status NOT IN ('confirmed', 'rejected') OR d2.updated_at >= ?))
                    AND NOT EXISTS (
                        SELECT 1 FROM request r WHERE r.checkout_id = delivery.checkout_id AND (r.status IN ('pending', 'received') OR r.updated_at >= ?))
                """, [before, before, before])
            let gone = "created_at < ? AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.checkout_id = checkout.id)"
            let forgotten = try Row.fetchAll(db, sql: "SELECT buyer, idempotency_key FROM checkout WHERE \(gone)", arguments: [before])
                .map { AcceptedKeys.hash(buyer: $0["buyer"], idempotencyKey: $0["idempotency_key"]) }
            try Self.execute(db, "DELETE FROM checkout WHERE \(gone)", [before])
            let checkouts = db.changesCount
            // A notice goes with its checkout: the history reads the merchant's word from it.
            try Self.execute(db, "DELETE FROM notice WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM checkout c WHERE c.id = notice.checkout_id)", [before])
            let notices = db.changesCount
            try Self.execute(
                db,
                "DELETE FROM reversal WHERE NOT EXISTS (SELECT 1 FROM delivery d WHERE d.checkout_id = reversal.checkout_id AND d.merchant = reversal.merchant AND d.seller = d.merchant)",
                [])
            try Self.execute(db, "DELETE FROM request WHERE NOT EXISTS (SELECT 1 FROM delivery d WHERE d.checkout_id = request.checkout_id)", [])
            return (checkouts, notices, forgotten)
        }
        // Once the rows are gone for good: a retry with one of these keys is new.
        acceptedKeys.remove(pruned.forgotten)
        return (pruned.checkouts, pruned.notices)
    }

    // MARK: - Notices for buyers

    /// Keeps a notice for its buyer until a session of theirs has been sent it.
    @discardableResult
    public func addNotice(_ notice: OrderNotice) async throws -> Int64 {
        let row = try Self.row(notice)
        return try await commit { db in
            try Self.insert(row, db)
            return db.lastInsertedRowID
        }
    }

    /// The buyer's notices no session has been sent yet, oldest first.
    public func undeliveredNotices(for buyer: String, limit: Int) async throws -> [OrderNotice] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM notice WHERE buyer = ? AND delivered = 0 ORDER BY id LIMIT \(max(0, limit))",
                arguments: [buyer]
            ).map(Self.notice)
        }
    }

    /// Buyers with notices no session was sent yet (read at startup).
    public func buyersWithUndeliveredNotices(limit: Int) async throws -> Set<String> {
        try await pool.read { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT buyer FROM notice WHERE delivered = 0 LIMIT ?", arguments: [max(0, limit)]))
        }
    }

    public func markDelivered(_ ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await commit { db in
            for id in ids { try Self.execute(db, "UPDATE notice SET delivered = 1 WHERE id = ?", [id]) }
        }
    }

    typealias NoticeRow = (buyer: String, checkoutID: String, stream: String, type: String, body: String, createdAt: Int64)

    static func row(_ notice: OrderNotice) throws -> NoticeRow {
        (notice.buyer, notice.checkoutID, notice.stream.rawValue, notice.type.rawValue, OutboxCoding.encode(.object(notice.body)), notice.createdAt)
    }

    static func insert(_ row: NoticeRow, _ db: Database) throws {
        try execute(
            db, "INSERT INTO notice (buyer, checkout_id, stream, type, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [row.buyer, row.checkoutID, row.stream, row.type, row.body, row.createdAt]
        )
    }

    private static func notice(_ row: Row) throws -> OrderNotice {
        try OutboxCoding.notice(
            id: row["id"], buyer: row["buyer"], checkoutID: row["checkout_id"], stream: row["stream"], type: row["type"], body: row["body"],
            createdAt: row["created_at"]
        )
    }

    // MARK: - Order services

    /// Makes every pending delivery of `merchant` due now (its order service just
    /// connected: no reason to wait out the backoff).
    public func expedite(merchant: String, now: Int64) async throws {
        try await commit { db in
            try db.execute(
                sql: "UPDATE delivery SET next_attempt_at = ? WHERE merchant = ? AND status = 'pending' AND next_attempt_at > ?",
                arguments: [now, merchant, now]
            )
            // And its buyers' requests.
            try db.execute(
                sql: "UPDATE request SET next_attempt_at = ? WHERE merchant = ? AND status = 'pending' AND next_attempt_at > ?", arguments: [now, merchant, now])
        }
        requestDue(at: now)
    }

    /// `merchant`'s settled deliveries (confirmed or rejected) of checkouts created at or
    /// after `since`, oldest first: for an order service that lost its records.
    public func settled(merchant: String, since: Int64, limit: Int) async throws -> [OutboxDelivery] {
        try await deliveries(
            // A shipment cancelled before it was sent (its seller refused the sale) never was the supplier's.
            where: "d.merchant = ? AND d.status IN ('confirmed', 'rejected') AND (d.seller = d.merchant OR d.attempts > 0) AND c.created_at >= ?",
            arguments: [merchant, since], limit: limit
        )
    }

    /// How many deliveries are pending and dead-lettered, for metrics.
    public func depth() async throws -> (pending: Int, deadLettered: Int) {
        try await pool.read { db in
            let pending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM delivery WHERE status = 'pending'") ?? 0
            let dead = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM delivery WHERE status = 'dead_lettered'") ?? 0
            return (pending, dead)
        }
    }

    /// Moves deliveries' next attempt to `until` without counting an attempt (their
    /// backend's circuit is open), in one commit.
    public func postpone(_ deliveries: [(checkoutID: String, party: Party)], until: Int64, now: Int64) async throws {
        guard !deliveries.isEmpty else { return }
        for delivery in deliveries { claims[OutboxDelivery.idempotencyKey(checkoutID: delivery.checkoutID, party: delivery.party)] = nil }
        try await commit { db in
            for delivery in deliveries {
                try Self.execute(
                    db,
                    "UPDATE delivery SET next_attempt_at = ?, updated_at = ? WHERE checkout_id = ? AND merchant = ? AND seller = ? AND status = 'pending'",
                    [until, now, delivery.checkoutID, delivery.party.merchant, delivery.party.seller]
                )
            }
        }
    }

    /// Puts a dead-lettered delivery back in the queue with a fresh set of attempts (an
    /// operator's re-drive, once the merchant's system is fixed).
    public func redrive(checkoutID: String, party: Party, now: Int64) async throws -> Bool {
        try await commit { db in
            // A shipment whose seller took back every unit it ships (cancelled, returned) is
            // not sent again: it is stopped instead.
            if party.isShipment, let document = try String.fetchOne(db, sql: "SELECT reservation FROM checkout WHERE id = ?", arguments: [checkoutID]),
                let reservation = try? OutboxCoding.decodeReservation(document)
            {
                let earlier = try String.fetchAll(
                    db, sql: "SELECT units FROM reversal WHERE checkout_id = ? AND merchant = ?", arguments: [checkoutID, party.seller]
                ).map(PartReversal.decode)
                if PartReversal.cancelledSuppliers(lines: reservation.lines, seller: party.seller, earlier: earlier, units: [:]).contains(party.merchant) {
                    try Self.execute(
                        db, "UPDATE delivery SET status = 'rejected', last_error = ?, updated_at = ? WHERE checkout_id = ? AND merchant = ? AND seller = ? AND status = 'dead_lettered'",
                        [PartReversal.cancelledShipment, now, checkoutID, party.merchant, party.seller])
                    return false
                }
            }
            try db.execute(
                sql: """
                    UPDATE delivery SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?, redriven_at = ?
                    WHERE checkout_id = ? AND merchant = ? AND seller = ? AND status = 'dead_lettered'
                    """,
                arguments: [now, now, now, checkoutID, party.merchant, party.seller]
            )
            guard db.changesCount > 0 else { return false }
            // A shipment carries no earnings.
            guard !party.isShipment else { return true }
            // Its credited lines are on their way again.
            try db.execute(
                sql: "UPDATE earning SET status = 'pending', settled_at = NULL WHERE checkout_id = ? AND merchant = ? AND status <> 'returned'",
                arguments: [checkoutID, party.merchant])
            return true
        }
    }

    // MARK: - Earnings

    public func recordFunnel(_ counts: [FunnelCount]) async throws {
        guard !counts.isEmpty else { return }
        try await commit { db in
            for count in counts {
                try Self.execute(
                    db,
                    """
                    INSERT INTO funnel (influencer, code, stream, day, visits, add_to_cart) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (influencer, day, stream, code) DO UPDATE SET
                        visits = min(visits + excluded.visits, \(JSONValue.maxSafeInteger)),
                        add_to_cart = min(add_to_cart + excluded.add_to_cart, \(JSONValue.maxSafeInteger))
                    """, [count.influencer, count.code, count.stream, count.day, count.visits, count.addToCart])
            }
        }
    }

    public func earnings(of influencer: String, since: Int64, until: Int64, bucketMilliseconds: Int64) async throws -> EarningsReport {
        let bucket = max(1, bucketMilliseconds)
        let limit = EarningsReport.maxRows + 1
        return try await pool.read { db in
            let scope = "FROM earning WHERE influencer = ? AND created_at >= ? AND created_at < ?"
            let arguments: StatementArguments = [influencer, since, until]
            let totals = try Row.fetchAll(
                db,
                sql: """
                    SELECT currency, status, sum(quantity) AS quantity, sum(amount) AS amount, sum(commission) AS commission
                    \(scope) GROUP BY currency, status ORDER BY currency, status
                    """, arguments: arguments
            ).compactMap { row -> EarningsReport.Total? in
                guard let status = EarningsReport.Status(rawValue: row["status"]) else { return nil }
                return EarningsReport.Total(currency: row["currency"], status: status, quantity: row["quantity"], amount: row["amount"], commission: row["commission"])
            }
            let groups = try Row.fetchAll(
                db,
                sql: """
                    SELECT stream, code, product, currency, status, sum(quantity) AS quantity, sum(amount) AS amount, sum(commission) AS commission
                    \(scope) GROUP BY stream, code, product, currency, status ORDER BY stream, code, product, currency, status LIMIT \(limit)
                    """, arguments: arguments
            ).compactMap { row -> EarningsReport.Group? in
                guard let status = EarningsReport.Status(rawValue: row["status"]) else { return nil }
                return EarningsReport.Group(
                    stream: row["stream"], code: row["code"], product: row["product"], currency: row["currency"], status: status, quantity: row["quantity"],
                    amount: row["amount"], commission: row["commission"])
            }
            let counted = try Row.fetchAll(
                db,
                sql: """
                    SELECT stream, code, count(DISTINCT checkout_id) AS checkouts,
                        count(DISTINCT CASE WHEN status = 'confirmed' THEN checkout_id || ':' || merchant END) AS confirmed,
                        count(DISTINCT CASE WHEN status = 'failed' THEN checkout_id || ':' || merchant END) AS failed
                    \(scope) GROUP BY stream, code ORDER BY stream, code LIMIT \(limit)
                    """, arguments: arguments
            ).map { row in
                EarningsReport.Tally(stream: row["stream"], code: row["code"], checkouts: row["checkouts"], confirmedOrders: row["confirmed"], failedOrders: row["failed"])
            }
            let timeline = try Row.fetchAll(
                db,
                sql: """
                    SELECT stream, currency, status, (created_at / \(bucket)) * \(bucket) AS start,
                        sum(quantity) AS quantity, sum(amount) AS amount, sum(commission) AS commission
                    \(scope) GROUP BY stream, currency, status, start ORDER BY start DESC, stream, currency, status LIMIT \(limit)
                    """, arguments: arguments
            ).compactMap { row -> EarningsReport.Bucket? in
                guard let status = EarningsReport.Status(rawValue: row["status"]) else { return nil }
                return EarningsReport.Bucket(
                    stream: row["stream"], currency: row["currency"], status: status, start: row["start"], quantity: row["quantity"], amount: row["amount"],
                    commission: row["commission"])
            }
            let days = EarningsReport.days(since: since, until: until)
            let funnel = try Row.fetchAll(
                db,
                sql: """
                    SELECT stream, code, sum(visits) AS visits, sum(add_to_cart) AS add_to_cart FROM funnel
                    WHERE influencer = ? AND day >= ? AND day <= ? GROUP BY stream, code ORDER BY stream, code LIMIT \(limit)
                    """, arguments: [influencer, days.lowerBound, days.upperBound]
            ).map { (stream: $0["stream"] as String, code: $0["code"] as String, visits: $0["visits"] as Int64, addToCart: $0["add_to_cart"] as Int64) }
            let tallies = EarningsReport.merge(counted, funnel: funnel)
            let truncated = [groups.count, tallies.count, timeline.count, funnel.count].contains { $0 > EarningsReport.maxRows }
            // The newest buckets were read first (a long history cuts its oldest): oldest first again.
            return EarningsReport(
                totals: totals, groups: Array(groups.prefix(EarningsReport.maxRows)), tallies: Array(tallies.prefix(EarningsReport.maxRows)),
                timeline: timeline.prefix(EarningsReport.maxRows).reversed(), truncated: truncated)
        }
    }

    private func deliveries(
        where condition: String, arguments: StatementArguments, order: String = "c.created_at, d.checkout_id, d.seller, d.merchant", limit: Int,
        excluding: Set<String> = []
    ) async throws -> [OutboxDelivery] {
        try await pool.read { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT d.checkout_id, d.merchant, d.seller, d.status, d.attempts, d.next_attempt_at, d.last_error, d.reference, d.redriven_at,
                               d.withdrawn, c.stream, c.buyer, c.reservation, c.created_at
                        FROM delivery d JOIN checkout c ON c.id = d.checkout_id
                        WHERE \(condition) ORDER BY \(order) LIMIT ?
                        """),
                arguments: arguments + [max(0, limit)]
            )
            return try rows.compactMap { row in
                if !excluding.isEmpty,
                    excluding.contains(OutboxDelivery.idempotencyKey(checkoutID: row["checkout_id"], party: Party(merchant: row["merchant"], seller: row["seller"])))
                {
                    return nil
                }
                return try Self.delivery(row)
            }
        }
    }

    private static func delivery(_ row: Row) throws -> OutboxDelivery {
        try OutboxCoding.delivery(
            checkoutID: row["checkout_id"], merchant: row["merchant"], seller: row["seller"], status: row["status"], attempts: row["attempts"],
            nextAttemptAt: row["next_attempt_at"], lastError: row["last_error"], reference: row["reference"], redrivenAt: row["redriven_at"],
            stream: row["stream"], buyer: row["buyer"], reservation: row["reservation"], createdAt: row["created_at"], withdrawn: row["withdrawn"]
        )
    }
}
