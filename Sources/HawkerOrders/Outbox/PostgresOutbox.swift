import HawkerCommerce
import HawkerProtocol
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The outbox a cluster's nodes share, in PostgreSQL through postgres-nio: a checkout
/// accepted on a node that dies is delivered by the others.
///
/// PostgreSQL rather than Redis: an accepted checkout is money, and PostgreSQL commits it
/// to its write-ahead log before answering (with replication and point-in-time recovery
/// where it is run seriously), where Redis would need `appendfsync always` on every node
/// of it and still offers no transactions across keys to make "claim the oldest due
/// orders nobody else holds" one statement. Here that is `FOR UPDATE SKIP LOCKED`: relays
/// on every node claim disjoint sets without waiting for each other, and a claim records
/// until when it holds, so that a dead node's claims lapse and its orders go again.
///
/// Every write is one statement (or one transaction), committed when it returns; the
/// tables are created in `schema` when missing, under an advisory lock so that nodes
/// starting together do not race. Concurrent writes share PostgreSQL's group commit.
public final class PostgresOutbox: Outbox, Service {
    let client: PostgresClient
    let schema: String
    let logger: Logger
    /// The migration, run once before the first query (and again after it failed).
    private let migration: OnceUntilDone
    let writes = Atomic<Int>(0)
    /// This instance's (this node's relay's) name on the deliveries it claims.
    let claimant = "relay-" + String(UInt64.random(in: 1...UInt64.max), radix: 16)

    /// - Parameters:
    ///   - url: `postgres://user[:password]@host[:port]/database` (`?sslmode=require` for TLS).
    ///   - schema: where the tables go; letters, digits and `_`.
    ///   - maximumConnections: the pool's size (checkouts and the relay share it).
    public init(url: String, schema: String = "hawker", maximumConnections: Int = 16, logger: Logger = Logger(label: "hawker.outbox.postgres")) throws {
        guard Self.isIdentifier(schema) else {
            throw OrderBackendError(description: "orders.outbox_schema must be a lowercase SQL identifier (a-z, 0-9, _; at most 63), got '\(schema)'")
        }
        let configuration = try PostgresURL.configuration(url, setting: "orders.outbox_url", connectTimeout: .seconds(5), maximumConnections: maximumConnections)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.schema = schema
        self.logger = logger
        self.migration = OnceUntilDone { try await Self.migrate(client, schema: schema, logger: logger) }
    }

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) || first == UInt8(ascii: "_"), text.utf8.count <= 63 else {
            return false
        }
        return text.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") }
    }

    /// Runs the connection pool until shutdown; queries wait for it.
    public func run() async throws {
        await client.run()
    }

    public var isShared: Bool { true }

    /// Any node may have stored the key: always looked up (one indexed read per checkout).
    public func mayHaveAccepted(buyer: String, idempotencyKey: String) -> Bool { true }

    public func commitCounts() async -> (commits: Int, writes: Int) {
        let count = writes.load(ordering: .relaxed)
        return (count, count)
    }

    // MARK: - Schema

    func migrated() async throws {
        try await migration.done()
    }

    private static func migrate(_ client: PostgresClient, schema s: String, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            // One node at a time: concurrent CREATE ... IF NOT EXISTS can still collide.
            try await connection.query("SELECT pg_advisory_xact_lock(7241500)", logger: logger)
            try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: s)", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS \(unescaped: s).checkout (
                    id text PRIMARY KEY,
                    stream text NOT NULL,
                    buyer text NOT NULL,
                    idempotency_key text NOT NULL,
                    reservation text NOT NULL,
                    created_at bigint NOT NULL,
                    UNIQUE (buyer, idempotency_key)
                )
                """, logger: logger)
            // Indexes right after their table: the tables are locked in the order appends
            // write them (checkout, delivery, earning), so a node migrating while another
            // appends cannot deadlock with it.
            try await connection.query("CREATE INDEX IF NOT EXISTS checkout_buyer_created ON \(unescaped: s).checkout (buyer, created_at, id)", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS \(unescaped: s).delivery (
                    checkout_id text NOT NULL REFERENCES \(unescaped: s).checkout(id),
                    merchant text NOT NULL,
                    status text NOT NULL DEFAULT 'pending',
                    attempts integer NOT NULL DEFAULT 0,
                    next_attempt_at bigint NOT NULL,
                    last_error text,
                    reference text,
                    updated_at bigint NOT NULL,
                    redriven_at bigint,
                    claimed_until bigint,
                    claimed_by text,
                    seller text NOT NULL,
                    PRIMARY KEY (checkout_id, merchant, seller)
                )
                """, logger: logger)
            try await migrateParties(connection, schema: s, logger: logger)
            // Units a seller cancelled of a shipment not sent yet (added with partial cancellations).
            try await connection.query("ALTER TABLE \(unescaped: s).delivery ADD COLUMN IF NOT EXISTS withdrawn text", logger: logger)
            try await connection.query("CREATE INDEX IF NOT EXISTS delivery_due ON \(unescaped: s).delivery (status, next_attempt_at)", logger: logger)
            try await connection.query("CREATE INDEX IF NOT EXISTS delivery_merchant ON \(unescaped: s).delivery (merchant, status)", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS \(unescaped: s).notice (
                    id bigserial PRIMARY KEY,
                    buyer text NOT NULL,
                    checkout_id text NOT NULL,
                    stream text NOT NULL,
                    type text NOT NULL,
                    body text NOT NULL,
                    created_at bigint NOT NULL,
                    delivered boolean NOT NULL DEFAULT false
                )
                """, logger: logger)
            try await connection.query("CREATE INDEX IF NOT EXISTS notice_undelivered ON \(unescaped: s).notice (buyer, delivered, id)", logger: logger)
            // The credited lines of influencers' codes: kept when settled orders are pruned.
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS \(unescaped: s).earning (
                    checkout_id text NOT NULL,
                    line integer NOT NULL,
                    merchant text NOT NULL,
                    stream text NOT NULL,
                    influencer text NOT NULL,
                    code text NOT NULL,
                    source text NOT NULL,
                    product text NOT NULL,
                    quantity bigint NOT NULL,
                    amount bigint NOT NULL,
                    commission bigint NOT NULL,
                    currency text NOT NULL,
                    status text NOT NULL DEFAULT 'pending',
                    created_at bigint NOT NULL,
                    settled_at bigint,
                    PRIMARY KEY (checkout_id, line)
                )
                """, logger: logger)
            try await connection.query("CREATE INDEX IF NOT EXISTS earning_influencer ON \(unescaped: s).earning (influencer, created_at)", logger: logger)
            try await connection.query("CREATE INDEX IF NOT EXISTS earning_part ON \(unescaped: s).earning (checkout_id, merchant)", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS \(unescaped: s).reversal (
                    checkout_id text NOT NULL,
                    merchant text NOT NULL,
                    id text NOT NULL,
                    kind text NOT NULL,
                    units text NOT NULL,
                    restock boolean NOT NULL,
                    restocked boolean NOT NULL DEFAULT false,
                    created_at bigint NOT NULL,
                    PRIMARY KEY (checkout_id, merchant, id)
                )
                """, logger: logger)
            // Buyers' cancel and return requests, delivered to sellers like orders.
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS \(unescaped: s).request (
                    checkout_id text NOT NULL,
                    merchant text NOT NULL,
                    id text NOT NULL,
                    kind text NOT NULL,
                    units text NOT NULL,
                    reason text,
                    status text NOT NULL DEFAULT 'pending',
                    attempts integer NOT NULL DEFAULT 0,
                    next_attempt_at bigint NOT NULL,
                    last_error text,
                    answer text,
                    created_at bigint NOT NULL,
                    updated_at bigint NOT NULL,
                    claimed_until bigint,
                    claimed_by text,
                    PRIMARY KEY (checkout_id, merchant, id)
                )
                """, logger: logger)
            try await connection.query("CREATE INDEX IF NOT EXISTS request_due ON \(unescaped: s).request (status, next_attempt_at)", logger: logger)
            // Influencers' funnels: visits and add-to-carts per code, stream and day.
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS \(unescaped: s).funnel (
                    influencer text NOT NULL,
                    code text NOT NULL,
                    stream text NOT NULL,
                    day bigint NOT NULL,
                    visits bigint NOT NULL DEFAULT 0,
                    add_to_cart bigint NOT NULL DEFAULT 0,
                    PRIMARY KEY (influencer, day, stream, code)
                )
                """, logger: logger)
        }
    }

    /// A delivery table from before suppliers (its key without the seller): every row is
    /// a sale, its seller its merchant. Only once: afterwards the key has the seller.
    private static func migrateParties(_ connection: PostgresConnection, schema s: String, logger: Logger) async throws {
        let keyed = try await connection.query(
            """
            SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = \(s + ".delivery")::regclass AND i.indisprimary AND a.attname = 'seller'
            """, logger: logger)
        for try await count in keyed.decode(Int64.self) where count > 0 { return }
        try await connection.query("ALTER TABLE \(unescaped: s).delivery ADD COLUMN IF NOT EXISTS seller text", logger: logger)
        try await connection.query("UPDATE \(unescaped: s).delivery SET seller = merchant WHERE seller IS NULL", logger: logger)
        try await connection.query("ALTER TABLE \(unescaped: s).delivery ALTER COLUMN seller SET NOT NULL", logger: logger)
        try await connection.query(
            "ALTER TABLE \(unescaped: s).delivery DROP CONSTRAINT delivery_pkey, ADD PRIMARY KEY (checkout_id, merchant, seller)", logger: logger)
    }

    /// A delivery's idempotency key in SQL, as `OutboxDelivery.idempotencyKey` makes it.
    private static func key(_ d: String) -> String {
        "(CASE WHEN \(d).seller = \(d).merchant THEN \(d).checkout_id || ':' || \(d).merchant ELSE \(d).checkout_id || ':' || \(d).merchant || '/for/' || \(d).seller END)"
    }

    /// Runs `query` once the tables exist.
    @discardableResult
    func query(_ query: PostgresQuery, write: Bool = false) async throws -> PostgresRowSequence {
        try await migrated()
        if write { writes.add(1, ordering: .relaxed) }
        return try await client.query(query, logger: logger)
    }

    // MARK: - Appending

    public func append(_ reservation: Reservation, stream: StreamID, trace: [String: String]) async throws -> Reservation {
        let s = schema
        let json = OutboxCoding.encodeCheckout(reservation, trace: trace)
        let credited = reservation.lines.enumerated().compactMap { index, line in line.credit.map { (index, line, $0) } }
        // A sale per seller (pending), a shipment per supplier and seller (held).
        let parties = reservation.parties
        // Every row in one statement: the deliveries and credited lines only with a new checkout.
        let rows = try await query(
            """
            WITH new AS (
                INSERT INTO \(unescaped: s).checkout (id, stream, buyer, idempotency_key, reservation, created_at)
                VALUES (\(reservation.checkoutID), \(stream.rawValue), \(reservation.buyer), \(reservation.idempotencyKey), \(json), \(reservation.createdAt))
                ON CONFLICT DO NOTHING RETURNING id, created_at
            ), parts AS (
                INSERT INTO \(unescaped: s).delivery (checkout_id, merchant, seller, status, next_attempt_at, updated_at)
                SELECT new.id, p.merchant, p.seller, CASE WHEN p.merchant = p.seller THEN 'pending' ELSE 'held' END, new.created_at, new.created_at
                FROM new, unnest(\(parties.map(\.merchant))::text[], \(parties.map(\.seller))::text[]) AS p(merchant, seller)
                RETURNING 1
            ), earned AS (
                INSERT INTO \(unescaped: s).earning
                    (checkout_id, line, merchant, stream, influencer, code, source, product, quantity, amount, commission, currency, created_at)
                SELECT new.id, e.line, e.merchant, \(stream.rawValue), e.influencer, e.code, e.source, e.product, e.quantity, e.amount, e.commission,
                    e.currency, new.created_at
                FROM new, unnest(
                    \(credited.map { Int64($0.0) })::bigint[], \(credited.map { $0.1.merchant })::text[], \(credited.map { $0.2.influencer })::text[],
                    \(credited.map { $0.2.code })::text[], \(credited.map { $0.2.source.rawValue })::text[], \(credited.map { $0.1.product })::text[],
                    \(credited.map { $0.1.quantity })::bigint[], \(credited.map { $0.1.amount })::bigint[], \(credited.map { $0.2.commission })::bigint[],
                    \(credited.map { $0.1.currency })::text[]
                ) AS e(line, merchant, influencer, code, source, product, quantity, amount, commission, currency)
                RETURNING 1
            )
            SELECT count(*) FROM new
            """, write: true)
        for try await inserted in rows.decode(Int64.self) where inserted == 1 { return reservation }
        // Stored before (same id, or the same buyer and key), maybe by another node: that
        // one stands. The other writer has committed: ON CONFLICT waited for it.
        let earlier = try await query(
            """
            SELECT reservation FROM \(unescaped: s).checkout
            WHERE (buyer = \(reservation.buyer) AND idempotency_key = \(reservation.idempotencyKey)) OR id = \(reservation.checkoutID)
            LIMIT 1
            """)
        for try await text in earlier.decode(String.self) { return try OutboxCoding.decodeReservation(text) }
        throw OutboxCorruption(description: "a conflicting checkout vanished")
    }

    public func accepted(buyer: String, idempotencyKey: String) async throws -> (reservation: Reservation, stream: StreamID)? {
        let rows = try await query(
            "SELECT stream, reservation FROM \(unescaped: schema).checkout WHERE buyer = \(buyer) AND idempotency_key = \(idempotencyKey)")
        for try await (stream, reservation) in rows.decode((String, String).self) {
            return (try OutboxCoding.decodeReservation(reservation), try OutboxCoding.streamID(stream))
        }
        return nil
    }

    // MARK: - Relaying

    /// The columns `deliveries(_:)` reads, from `d` (delivery) and `c` (checkout).
    private static let columns = """
        d.checkout_id, d.merchant, d.seller, d.status, d.attempts, d.next_attempt_at, d.last_error, d.reference, d.redriven_at,
        c.stream, c.buyer, c.reservation, c.created_at, d.withdrawn
        """

    private func deliveries(_ rows: PostgresRowSequence) async throws -> [OutboxDelivery] {
        var deliveries: [OutboxDelivery] = []
        for try await row in rows.decode((String, String, String, String, Int, Int64, String?, String?, Int64?, String, String, String, Int64, String?).self) {
            deliveries.append(
                try OutboxCoding.delivery(
                    checkoutID: row.0, merchant: row.1, seller: row.2, status: row.3, attempts: row.4, nextAttemptAt: row.5, lastError: row.6,
                    reference: row.7, redrivenAt: row.8, stream: row.9, buyer: row.10, reservation: row.11, createdAt: row.12, withdrawn: row.13
                ))
        }
        return deliveries
    }

    public func due(now: Int64, limit: Int, excluding: Set<String>) async throws -> [OutboxDelivery] {
        let s = schema
        return try await deliveries(
            query(
                """
                SELECT \(unescaped: Self.columns) FROM \(unescaped: s).delivery d JOIN \(unescaped: s).checkout c ON c.id = d.checkout_id
                WHERE d.status = 'pending' AND d.next_attempt_at <= \(now) AND NOT (\(unescaped: Self.key("d")) = ANY(\(Array(excluding))::text[]))
                ORDER BY d.next_attempt_at LIMIT \(max(0, limit))
                """))
    }

    public func claim(
        now: Int64, limit: Int, claimMilliseconds: Int64, excluding: Set<String>, skipping: Set<String>, skippingUnlessBefore: Int64
    ) async throws -> [OutboxDelivery] {
        let s = schema
        let (until, overflow) = now.addingReportingOverflow(claimMilliseconds)
        // Rows another relay is claiming right now are skipped, not waited for.
        let claimed = try await deliveries(
            query(
                """
                UPDATE \(unescaped: s).delivery d SET claimed_until = \(overflow ? Int64.max : until), claimed_by = \(claimant)
                FROM \(unescaped: s).checkout c
                WHERE c.id = d.checkout_id AND (d.checkout_id, d.merchant, d.seller) IN (
                    SELECT d2.checkout_id, d2.merchant, d2.seller FROM \(unescaped: s).delivery d2 JOIN \(unescaped: s).checkout c2 ON c2.id = d2.checkout_id
                    WHERE d2.status = 'pending' AND d2.next_attempt_at <= \(now) AND (d2.claimed_until IS NULL OR d2.claimed_until <= \(now))
                        AND NOT (\(unescaped: Self.key("d2")) = ANY(\(Array(excluding))::text[]))
                        AND (NOT (d2.merchant = ANY(\(Array(skipping))::text[])) OR COALESCE(d2.redriven_at, c2.created_at) < \(skippingUnlessBefore))
                    ORDER BY d2.next_attempt_at LIMIT \(max(0, limit))
                    FOR UPDATE OF d2 SKIP LOCKED)
                RETURNING \(unescaped: Self.columns)
                """, write: true))
        return claimed.sorted { ($0.nextAttemptAt, $0.checkoutID, $0.party) < ($1.nextAttemptAt, $1.checkoutID, $1.party) }
    }

    public func deliveries(of checkoutID: String) async throws -> [OutboxDelivery] {
        let s = schema
        return try await deliveries(
            query(
                """
                SELECT \(unescaped: Self.columns) FROM \(unescaped: s).delivery d JOIN \(unescaped: s).checkout c ON c.id = d.checkout_id
                WHERE d.checkout_id = \(checkoutID) ORDER BY d.seller, d.merchant
                """))
    }

    public func checkouts(touchedSince since: Int64, limit: Int) async throws -> [StoredCheckout] {
        let s = schema
        let rows = try await query(
            """
            SELECT c.id, c.stream, c.reservation, d.merchant, d.status, d.updated_at, d.redriven_at
            FROM \(unescaped: s).checkout c JOIN \(unescaped: s).delivery d ON d.checkout_id = c.id AND d.seller = d.merchant
            WHERE c.id IN (
                SELECT c2.id FROM \(unescaped: s).checkout c2 WHERE c2.created_at > \(since) OR EXISTS (
                    SELECT 1 FROM \(unescaped: s).delivery d2
                    WHERE d2.checkout_id = c2.id AND d2.seller = d2.merchant AND (d2.status = 'pending' OR d2.updated_at > \(since)))
                ORDER BY c2.created_at DESC, c2.id DESC LIMIT \(max(0, limit)))
            ORDER BY c.created_at, c.id, d.merchant
            """)
        var checkouts: [StoredCheckout] = []
        for try await (id, stream, reservation, merchant, status, updatedAt, redrivenAt) in rows.decode((String, String, String, String, String, Int64, Int64?).self) {
            // A row that does not read is left out, not fatal (as in the SQLite outbox).
            guard let status = OutboxDelivery.Status(rawValue: status) else { continue }
            let part = StoredCheckout.Part(merchant: merchant, status: status, updatedAt: updatedAt, redriven: redrivenAt != nil)
            if let last = checkouts.last, last.reservation.checkoutID == id {
                checkouts[checkouts.count - 1].parts.append(part)
                continue
            }
            guard let reservation = try? OutboxCoding.decodeReservation(reservation), let stream = try? OutboxCoding.streamID(stream) else { continue }
            checkouts.append(StoredCheckout(reservation: reservation, stream: stream, parts: [part]))
        }
        return checkouts
    }

    public func history(of buyer: String, after: String?, limit: Int) async throws -> BuyerOrder.Page {
        let s = schema
        let page = min(max(0, limit), BuyerOrder.maxPage)
        // Newest first; a page goes on after the last checkout of the one before.
        let rows = try await query(
            """
            SELECT id, stream, reservation FROM \(unescaped: s).checkout WHERE buyer = \(buyer)
            AND (\(after)::text IS NULL OR (created_at, id) < (SELECT created_at, id FROM \(unescaped: s).checkout WHERE id = \(after) AND buyer = \(buyer)))
            ORDER BY created_at DESC, id DESC LIMIT \(page)
            """)
        var orders: [BuyerOrder] = []
        var read = 0
        var last: String?
        for try await (id, stream, reservation) in rows.decode((String, String, String).self) {
            read += 1
            last = id
            // A row that does not read is left out, not fatal (as in the SQLite outbox).
            guard let reservation = try? OutboxCoding.decodeReservation(reservation), let stream = try? OutboxCoding.streamID(stream) else { continue }
            orders.append(BuyerOrder(reservation: reservation, stream: stream, parts: []))
        }
        let nextAfter = read == page && page > 0 ? last : nil
        guard !orders.isEmpty else { return BuyerOrder.Page(orders: [], nextAfter: nextAfter) }
        let ids = orders.map(\.reservation.checkoutID)
        let parts = try await query(
            "SELECT checkout_id, merchant, status, reference FROM \(unescaped: s).delivery WHERE checkout_id = ANY(\(ids)::text[]) AND seller = merchant ORDER BY checkout_id, merchant")
        var byCheckout: [String: [BuyerOrder.Part]] = [:]
        for try await (id, merchant, status, reference) in parts.decode((String, String, String, String?).self) {
            guard let status = OutboxDelivery.Status(rawValue: status) else { continue }
            byCheckout[id, default: []].append(BuyerOrder.Part(merchant: merchant, status: status, reference: reference))
        }
        let notices = try await query(
            """
            SELECT checkout_id, body FROM \(unescaped: s).notice
            WHERE buyer = \(buyer) AND checkout_id = ANY(\(ids)::text[]) AND type = 'order.status' ORDER BY id
            """)
        var updates: [String: [String]] = [:]
        for try await (id, body) in notices.decode((String, String).self) { updates[id, default: []].append(body) }
        var requests: [String: [RequestRow]] = [:]
        for try await row in try await query(
            "SELECT \(unescaped: Self.requestColumns) FROM \(unescaped: s).request r WHERE r.checkout_id = ANY(\(ids)::text[]) ORDER BY r.created_at, r.id"
        ).decode(RequestRow.self) {
            requests[row.0, default: []].append(row)
        }
        var reversals: [String: [(merchant: String, units: String)]] = [:]
        for try await (id, merchant, units) in try await query(
            "SELECT checkout_id, merchant, units FROM \(unescaped: s).reversal WHERE checkout_id = ANY(\(ids)::text[])"
        ).decode((String, String, String).self) {
            reversals[id, default: []].append((merchant, units))
        }
        for index in orders.indices {
            let id = orders[index].reservation.checkoutID
            orders[index].parts = byCheckout[id] ?? []
            orders[index].apply(reversals: reversals[id] ?? [])
            orders[index].apply(updates: updates[id] ?? [])
            orders[index].apply(requests: (requests[id] ?? []).compactMap { Self.request($0, lines: orders[index].reservation.lines) })
        }
        return BuyerOrder.Page(orders: orders, nextAfter: nextAfter)
    }

    public func reverse(_ reversal: PartReversal, now: Int64) async throws -> Result<ReversalRecord, PartReversal.Refusal> {
        try await migrated()
        writes.add(1, ordering: .relaxed)
        let s = schema
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection -> Result<ReversalRecord, PartReversal.Refusal> in
            // The part's row locked: two reversals of one order are taken one after the other.
            var part: (status: String, reservation: String, stream: String)?
            for try await row in try await connection.query(
                """
                SELECT d.status, c.reservation, c.stream FROM \(unescaped: s).delivery d JOIN \(unescaped: s).checkout c ON c.id = d.checkout_id
                WHERE d.checkout_id = \(reversal.checkoutID) AND d.merchant = \(reversal.merchant) AND d.seller = d.merchant FOR UPDATE OF d
                """, logger: logger
            ).decode((String, String, String).self) {
                part = row
            }
            guard let part, let reservation = try? OutboxCoding.decodeReservation(part.reservation), let stream = try? OutboxCoding.streamID(part.stream)
            else { return .failure(.unknownPart) }
            func record(_ units: [Int: Int64], restockDue: Bool, replayed: Bool) -> ReversalRecord {
                ReversalRecord(
                    units: units, restockDue: restockDue, replayed: replayed, lines: reservation.lines, buyer: reservation.buyer, stream: stream,
                    purchasedAt: reservation.createdAt)
            }
            var earlier: [[Int: Int64]] = []
            for try await (id, units, restock, restocked) in try await connection.query(
                "SELECT id, units, restock, restocked FROM \(unescaped: s).reversal WHERE checkout_id = \(reversal.checkoutID) AND merchant = \(reversal.merchant)",
                logger: logger
            ).decode((String, String, Bool, Bool).self) {
                if id == reversal.id {
                    let units = PartReversal.decode(units)
                    // Accepting a request repeats only the acceptance of that request.
                    var acceptedBefore = true
                    if let request = reversal.request {
                        acceptedBefore = false
                        for try await status in try await connection.query(
                            """
                            SELECT status FROM \(unescaped: s).request
                            WHERE checkout_id = \(reversal.checkoutID) AND merchant = \(reversal.merchant) AND id = \(request)
                            """, logger: logger
                        ).decode(String.self) {
                            acceptedBefore = status == BuyerRequest.Status.accepted.rawValue
                        }
                    }
                    guard acceptedBefore, reversal.repeats(units: units, restock: restock, lines: reservation.lines) else {
                        return .failure(.invalid("return_id '\(reversal.id)' was used for another return of this order: give this one its own"))
                    }
                    return .success(record(units, restockDue: restock && !restocked, replayed: true))
                }
                earlier.append(PartReversal.decode(units))
            }
            guard part.status == OutboxDelivery.Status.confirmed.rawValue else { return .failure(.notConfirmed) }
            // The buyer's request it accepts: its units unless the merchant names others.
            var accepted: BuyerRequest?
            if let requestID = reversal.request {
                for try await row in try await connection.query(
                    """
                    SELECT \(unescaped: Self.requestColumns) FROM \(unescaped: s).request r
                    WHERE r.checkout_id = \(reversal.checkoutID) AND r.merchant = \(reversal.merchant) AND r.id = \(requestID) FOR UPDATE
                    """, logger: logger
                ).decode(RequestRow.self) {
                    accepted = Self.request(row, lines: reservation.lines)
                }
            }
            let items: [PartReversal.Item]?
            switch reversal.accepting(accepted.map { ($0.kind.rawValue, $0.status.rawValue, PartReversal.encode($0.units)) }) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let named): items = named ?? accepted?.items
            }
            let units: [Int: Int64]
            switch PartReversal.plan(lines: reservation.lines, merchant: reversal.merchant, earlier: earlier, items: items) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let planned): units = planned
            }
            try await connection.query(
                """
                INSERT INTO \(unescaped: s).reversal (checkout_id, merchant, id, kind, units, restock, created_at)
                VALUES (\(reversal.checkoutID), \(reversal.merchant), \(reversal.id), \(reversal.kind.rawValue), \(PartReversal.encode(units)), \(reversal.restock), \(now))
                """, logger: logger)
            // A cancellation stops what its suppliers were not sent yet (held, or never
            // tried): nothing ships for a cancelled order. One tried (maybe out), or being
            // delivered by a relay now (claimed), is theirs.
            if reversal.kind == .cancelled {
                // Some units of a supplier's lines: its shipment, not sent yet, carries less.
                var cancellations: [[Int: Int64]] = []
                for try await units in try await connection.query(
                    "SELECT units FROM \(unescaped: s).reversal WHERE checkout_id = \(reversal.checkoutID) AND merchant = \(reversal.merchant) AND kind = 'cancelled'",
                    logger: logger
                ).decode(String.self) {
                    cancellations.append(PartReversal.decode(units))
                }
                for supplier in PartReversal.partlyCancelledSuppliers(lines: reservation.lines, seller: reversal.merchant, earlier: earlier, units: units) {
                    let withdrawn = PartReversal.withdrawn(lines: reservation.lines, seller: reversal.merchant, supplier: supplier, cancellations: cancellations)
                    try await connection.query(
                        """
                        UPDATE \(unescaped: s).delivery SET withdrawn = \(PartReversal.encode(withdrawn)), updated_at = \(now)
                        WHERE checkout_id = \(reversal.checkoutID) AND merchant = \(supplier) AND seller = \(reversal.merchant)
                            AND (status = 'held' OR (status IN ('pending', 'dead_lettered') AND attempts = 0 AND (claimed_until IS NULL OR claimed_until <= \(now)))
                                OR (status = 'dead_lettered' AND starts_with(last_error, \(PartReversal.refusedBySupplier))))
                        """, logger: logger)
                }
                for supplier in PartReversal.cancelledSuppliers(lines: reservation.lines, seller: reversal.merchant, earlier: earlier, units: units) {
                    try await connection.query(
                        """
                        UPDATE \(unescaped: s).delivery SET status = 'rejected', last_error = \(PartReversal.cancelledShipment), updated_at = \(now)
                        WHERE checkout_id = \(reversal.checkoutID) AND merchant = \(supplier) AND seller = \(reversal.merchant)
                            AND (status = 'held' OR (status IN ('pending', 'dead_lettered') AND attempts = 0 AND (claimed_until IS NULL OR claimed_until <= \(now)))
                                OR (status = 'dead_lettered' AND starts_with(last_error, \(PartReversal.refusedBySupplier))))
                        """, logger: logger)
                }
            }
            // Each credited line's share moves from what it earned to what was taken back
            // (a row of its own, keyed by the line's index below zero).
            for (index, taken) in units.sorted(by: { $0.key < $1.key }) {
                var earned: (quantity: Int64, amount: Int64, commission: Int64)?
                for try await row in try await connection.query(
                    "SELECT quantity, amount, commission FROM \(unescaped: s).earning WHERE checkout_id = \(reversal.checkoutID) AND line = \(index)", logger: logger
                ).decode((Int64, Int64, Int64).self) {
                    earned = row
                }
                guard let earned else { continue }
                let share = EarningsReport.share(amount: earned.amount, commission: earned.commission, quantity: earned.quantity, units: taken)
                let quantity = min(taken, earned.quantity)
                try await connection.query(
                    """
                    UPDATE \(unescaped: s).earning SET quantity = quantity - \(quantity), amount = amount - \(share.amount), commission = commission - \(share.commission)
                    WHERE checkout_id = \(reversal.checkoutID) AND line = \(index)
                    """, logger: logger)
                try await connection.query(
                    """
                    INSERT INTO \(unescaped: s).earning (checkout_id, line, merchant, stream, influencer, code, source, product, quantity, amount, commission, currency,
                        status, created_at, settled_at)
                    SELECT checkout_id, \(-1 - index), merchant, stream, influencer, code, source, product, \(quantity), \(share.amount), \(share.commission), currency,
                        'returned', created_at, \(now)
                    FROM \(unescaped: s).earning WHERE checkout_id = \(reversal.checkoutID) AND line = \(index)
                    ON CONFLICT (checkout_id, line) DO UPDATE SET quantity = \(unescaped: s).earning.quantity + excluded.quantity,
                        amount = \(unescaped: s).earning.amount + excluded.amount, commission = \(unescaped: s).earning.commission + excluded.commission,
                        settled_at = excluded.settled_at
                    """, logger: logger)
                // A line taken back whole earned nothing: only its returned row stays.
                try await connection.query(
                    "DELETE FROM \(unescaped: s).earning WHERE checkout_id = \(reversal.checkoutID) AND line = \(index) AND quantity = 0", logger: logger)
            }
            // The buyer's notice in the same commit: a crash cannot record the return unheard.
            let notice = try await Self.insert(
                reversal.notice(lines: reservation.lines, units: units, buyer: reservation.buyer, stream: stream, now: now), schema: s, connection, logger: logger)
            var recorded = record(units, restockDue: reversal.restock, replayed: false)
            recorded.notice = notice
            if var accepted {
                try await connection.query(
                    """
                    UPDATE \(unescaped: s).request SET status = 'accepted', updated_at = \(now)
                    WHERE checkout_id = \(reversal.checkoutID) AND merchant = \(reversal.merchant) AND id = \(accepted.id)
                    """, logger: logger)
                accepted.status = .accepted
                accepted.updatedAt = now
                recorded.requestNotice = try await Self.insert(accepted.notice(buyer: reservation.buyer, stream: stream, now: now), schema: s, connection, logger: logger)
            }
            return .success(recorded)
        }
    }

    public func markRestocked(checkoutID: String, merchant: String, id: String, restocked: Bool) async throws -> Bool {
        let rows = try await query(
            """
            WITH changed AS (
                UPDATE \(unescaped: schema).reversal SET restocked = \(restocked)
                WHERE checkout_id = \(checkoutID) AND merchant = \(merchant) AND id = \(id) AND restocked = \(!restocked)
                RETURNING 1)
            SELECT count(*) FROM changed
            """, write: true)
        for try await count in rows.decode(Int64.self) { return count > 0 }
        return false
    }

    public func deadLetters(limit: Int) async throws -> [OutboxDelivery] {
        let s = schema
        return try await deliveries(
            query(
                """
                SELECT \(unescaped: Self.columns) FROM \(unescaped: s).delivery d JOIN \(unescaped: s).checkout c ON c.id = d.checkout_id
                WHERE d.status = 'dead_lettered' ORDER BY c.created_at, d.checkout_id, d.merchant LIMIT \(max(0, limit))
                """))
    }

    public func record(
        _ outcome: DeliveryOutcome, checkoutID: String, party: Party, now: Int64, attempted: Bool, notice: OrderNotice?
    ) async throws -> (applied: Bool, noticeID: Int64?) {
        let s = schema
        let merchant = party.merchant
        // A shipment carries no earnings; a sale's outcome releases or cancels its shipments.
        let sale = !party.isShipment
        let release = sale ? ShipmentRelease(outcome) : nil
        let (status, reference, error, next) = outcome.columns
        let body = notice.map { OutboxCoding.encode(.object($0.body)) } ?? ""
        // The merchant's answer stands whoever asked; a retry or a dead letter only from
        // the relay that holds the claim (not one whose claim lapsed while another node
        // delivers it).
        let answered: Bool =
            switch outcome {
            case .confirmed, .rejected: true
            case .retry, .deadLetter: false
            }
        let earned = EarningsReport.Status(outcome)
        // The outcome, its credited lines' status and the notice in one statement; the
        // lines and the notice only with the outcome.
        let rows = try await query(
            """
            WITH updated AS (
                UPDATE \(unescaped: s).delivery SET status = \(status.rawValue), attempts = attempts + \(attempted ? 1 : 0),
                    reference = COALESCE(\(reference)::text, reference), last_error = COALESCE(\(error)::text, last_error),
                    next_attempt_at = COALESCE(\(next)::bigint, next_attempt_at), updated_at = \(now), claimed_until = NULL, claimed_by = NULL
                WHERE checkout_id = \(checkoutID) AND merchant = \(merchant) AND seller = \(party.seller) AND status = 'pending'
                    AND (\(answered) OR claimed_by IS NULL OR claimed_by = \(claimant))
                RETURNING 1
            ), earned AS (
                UPDATE \(unescaped: s).earning SET status = \(earned?.rawValue ?? "pending"), settled_at = \(now)
                WHERE checkout_id = \(checkoutID) AND merchant = \(merchant) AND status <> 'returned' AND \(sale && earned != nil) AND EXISTS (SELECT 1 FROM updated)
                RETURNING 1
            ), released AS (
                UPDATE \(unescaped: s).delivery SET status = \(release?.status.rawValue ?? "held"), next_attempt_at = \(now),
                    last_error = \(release?.error)::text, updated_at = \(now), redriven_at = \(release?.ageFrom(now))::bigint
                WHERE checkout_id = \(checkoutID) AND seller = \(party.seller) AND merchant <> seller AND status = 'held'
                    AND \(release != nil) AND EXISTS (SELECT 1 FROM updated)
                RETURNING 1
            ), inserted AS (
                INSERT INTO \(unescaped: s).notice (buyer, checkout_id, stream, type, body, created_at)
                SELECT \(notice?.buyer ?? ""), \(notice?.checkoutID ?? ""), \(notice?.stream.rawValue ?? ""), \(notice?.type.rawValue ?? ""), \(body),
                    \(notice?.createdAt ?? 0)
                WHERE \(notice != nil) AND EXISTS (SELECT 1 FROM updated)
                RETURNING id
            )
            SELECT (SELECT count(*) FROM updated), (SELECT id FROM inserted)
            """, write: true)
        for try await (updated, id) in rows.decode((Int64, Int64?).self) { return (updated > 0, id) }
        return (false, nil)
    }

    // MARK: - Retention

    public func prune(before: Int64) async throws -> (checkouts: Int, notices: Int) {
        try await migrated()
        writes.add(1, ordering: .relaxed)
        let s = schema
        return try await client.withTransaction(logger: logger) { connection in
            // The candidates locked first: a buyer's request committed before is seen by the
            // delete (a statement of its own, with its own snapshot), one after finds its part
            // gone (its `request` waits for these locks).
            try await connection.query(
                "SELECT 1 FROM \(unescaped: s).delivery WHERE status IN ('confirmed', 'rejected') AND updated_at < \(before) FOR UPDATE", logger: logger)
            // A checkout's parts go together, once all are settled and old: a buyer's history
            // never shows an order with some of its parts gone.
            try await connection.query(
                """
                DELETE FROM \(unescaped: s).delivery d WHERE d.status IN ('confirmed', 'rejected') AND d.updated_at < \(before)
                    AND NOT EXISTS (
                        SELECT 1 FROM \(unescaped: s).delivery d2
                        WHERE d2.checkout_id = d.checkout_id AND (d2.status NOT IN ('confirmed', 'rejected') OR d2.updated_at >= \(before)))
                    AND NOT EXISTS (
                        SELECT 1 FROM \(unescaped: s).request r WHERE r.checkout_id = d.checkout_id AND (r.status IN ('pending', 'received') OR r.updated_at >= \(before)))
                """, logger: logger)
            var checkouts = 0
            for try await count in try await connection.query(
                """
                WITH gone AS (
                    DELETE FROM \(unescaped: s).checkout c WHERE c.created_at < \(before)
                        AND NOT EXISTS (SELECT 1 FROM \(unescaped: s).delivery d WHERE d.checkout_id = c.id)
                    RETURNING 1)
                SELECT count(*) FROM gone
                """, logger: logger
            ).decode(Int64.self) {
                checkouts = Int(count)
            }
            var notices = 0
            for try await count in try await connection.query(
                """
                WITH gone AS (
                    DELETE FROM \(unescaped: s).notice n WHERE n.created_at < \(before)
                        AND NOT EXISTS (SELECT 1 FROM \(unescaped: s).checkout c WHERE c.id = n.checkout_id)
                    RETURNING 1)
                SELECT count(*) FROM gone
                """, logger: logger
            ).decode(Int64.self) {
                notices = Int(count)
            }
            try await connection.query(
                """
                DELETE FROM \(unescaped: s).reversal r
                WHERE NOT EXISTS (SELECT 1 FROM \(unescaped: s).delivery d WHERE d.checkout_id = r.checkout_id AND d.merchant = r.merchant AND d.seller = d.merchant)
                """, logger: logger)
            try await connection.query(
                "DELETE FROM \(unescaped: s).request r WHERE NOT EXISTS (SELECT 1 FROM \(unescaped: s).delivery d WHERE d.checkout_id = r.checkout_id)",
                logger: logger)
            return (checkouts, notices)
        }
    }

    // MARK: - Notices for buyers

    public func addNotice(_ notice: OrderNotice) async throws -> Int64 {
        let rows = try await query(
            """
            INSERT INTO \(unescaped: schema).notice (buyer, checkout_id, stream, type, body, created_at)
            VALUES (\(notice.buyer), \(notice.checkoutID), \(notice.stream.rawValue), \(notice.type.rawValue), \(OutboxCoding.encode(.object(notice.body))), \(notice.createdAt))
            RETURNING id
            """, write: true)
        for try await id in rows.decode(Int64.self) { return id }
        throw OutboxCorruption(description: "a notice was stored without an id")
    }

    public func undeliveredNotices(for buyer: String, limit: Int) async throws -> [OrderNotice] {
        let rows = try await query(
            """
            SELECT id, buyer, checkout_id, stream, type, body, created_at FROM \(unescaped: schema).notice
            WHERE buyer = \(buyer) AND NOT delivered ORDER BY id LIMIT \(max(0, limit))
            """)
        var notices: [OrderNotice] = []
        for try await row in rows.decode((Int64, String, String, String, String, String, Int64).self) {
            notices.append(try OutboxCoding.notice(id: row.0, buyer: row.1, checkoutID: row.2, stream: row.3, type: row.4, body: row.5, createdAt: row.6))
        }
        return notices
    }

    public func buyersWithUndeliveredNotices(limit: Int) async throws -> Set<String> {
        var buyers: Set<String> = []
        let rows = try await query("SELECT DISTINCT buyer FROM \(unescaped: schema).notice WHERE NOT delivered LIMIT \(max(0, limit))")
        for try await buyer in rows.decode(String.self) {
            buyers.insert(buyer)
        }
        return buyers
    }

    public func markDelivered(_ ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await query("UPDATE \(unescaped: schema).notice SET delivered = true WHERE id = ANY(\(ids)::bigint[])", write: true)
    }

    // MARK: - Order services and operators

    public func expedite(merchant: String, now: Int64) async throws {
        try await query(
            """
            UPDATE \(unescaped: schema).delivery SET next_attempt_at = \(now)
            WHERE merchant = \(merchant) AND status = 'pending' AND next_attempt_at > \(now)
            """, write: true)
        // And its buyers' requests.
        try await query(
            """
            UPDATE \(unescaped: schema).request SET next_attempt_at = \(now)
            WHERE merchant = \(merchant) AND status = 'pending' AND next_attempt_at > \(now)
            """, write: true)
    }

    public func settled(merchant: String, since: Int64, limit: Int) async throws -> [OutboxDelivery] {
        let s = schema
        return try await deliveries(
            query(
                """
                SELECT \(unescaped: Self.columns) FROM \(unescaped: s).delivery d JOIN \(unescaped: s).checkout c ON c.id = d.checkout_id
                WHERE d.merchant = \(merchant) AND d.status IN ('confirmed', 'rejected') AND c.created_at >= \(since)
                    AND (d.seller = d.merchant OR d.attempts > 0)
                ORDER BY c.created_at, d.checkout_id, d.merchant LIMIT \(max(0, limit))
                """))
    }

    public func depth() async throws -> (pending: Int, deadLettered: Int) {
        let rows = try await query(
            """
            SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'dead_lettered')
            FROM \(unescaped: schema).delivery WHERE status IN ('pending', 'dead_lettered')
            """)
        for try await (pending, dead) in rows.decode((Int64, Int64).self) { return (Int(pending), Int(dead)) }
        return (0, 0)
    }

    public func postpone(_ deliveries: [(checkoutID: String, party: Party)], until: Int64, now: Int64) async throws {
        guard !deliveries.isEmpty else { return }
        try await query(
            """
            UPDATE \(unescaped: schema).delivery SET next_attempt_at = \(until), updated_at = \(now), claimed_until = NULL, claimed_by = NULL
            WHERE status = 'pending' AND (claimed_by IS NULL OR claimed_by = \(claimant)) AND (checkout_id, merchant, seller) IN (
                SELECT * FROM unnest(
                    \(deliveries.map(\.checkoutID))::text[], \(deliveries.map(\.party.merchant))::text[], \(deliveries.map(\.party.seller))::text[]))
            """, write: true)
    }

    public func redrive(checkoutID: String, party: Party, now: Int64) async throws -> Bool {
        let merchant = party.merchant
        // A shipment whose seller took back every unit it ships (cancelled, returned) is not
        // sent again: it is stopped instead.
        if party.isShipment, try await sellerTookBackEverything(checkoutID: checkoutID, party: party) {
            try await query(
                """
                UPDATE \(unescaped: schema).delivery SET status = 'rejected', last_error = \(PartReversal.cancelledShipment), updated_at = \(now)
                WHERE checkout_id = \(checkoutID) AND merchant = \(merchant) AND seller = \(party.seller) AND status = 'dead_lettered'
                """, write: true)
            return false
        }
        let rows = try await query(
            """
            WITH changed AS (
                UPDATE \(unescaped: schema).delivery SET status = 'pending', attempts = 0, next_attempt_at = \(now), updated_at = \(now),
                    redriven_at = \(now), claimed_until = NULL, claimed_by = NULL
                WHERE checkout_id = \(checkoutID) AND merchant = \(merchant) AND seller = \(party.seller) AND status = 'dead_lettered'
                RETURNING 1
            ), earned AS (
                UPDATE \(unescaped: schema).earning SET status = 'pending', settled_at = NULL
                WHERE checkout_id = \(checkoutID) AND merchant = \(merchant) AND status <> 'returned' AND \(!party.isShipment) AND EXISTS (SELECT 1 FROM changed)
                RETURNING 1
            )
            SELECT count(*) FROM changed
            """, write: true)
        for try await count in rows.decode(Int64.self) { return count > 0 }
        return false
    }

    /// Whether `party`'s seller took back (cancelled or returned) every unit its supplier ships.
    private func sellerTookBackEverything(checkoutID: String, party: Party) async throws -> Bool {
        var reservation: Reservation?
        for try await document in try await query("SELECT reservation FROM \(unescaped: schema).checkout WHERE id = \(checkoutID)").decode(String.self) {
            reservation = try? OutboxCoding.decodeReservation(document)
        }
        guard let reservation else { return false }
        var earlier: [[Int: Int64]] = []
        for try await units in try await query(
            "SELECT units FROM \(unescaped: schema).reversal WHERE checkout_id = \(checkoutID) AND merchant = \(party.seller)"
        ).decode(String.self) {
            earlier.append(PartReversal.decode(units))
        }
        return PartReversal.cancelledSuppliers(lines: reservation.lines, seller: party.seller, earlier: earlier, units: [:]).contains(party.merchant)
    }

    // MARK: - Earnings

    public func recordFunnel(_ counts: [FunnelCount]) async throws {
        guard !counts.isEmpty else { return }
        // In key order: two nodes upserting the same rows lock them in the same order.
        let counts = counts.sorted { ($0.influencer, $0.day, $0.stream, $0.code) < ($1.influencer, $1.day, $1.stream, $1.code) }
        let cap = JSONValue.maxSafeInteger
        try await query(
            """
            INSERT INTO \(unescaped: schema).funnel (influencer, code, stream, day, visits, add_to_cart)
            SELECT * FROM unnest(
                \(counts.map(\.influencer))::text[], \(counts.map(\.code))::text[], \(counts.map(\.stream))::text[], \(counts.map(\.day))::bigint[],
                \(counts.map(\.visits))::bigint[], \(counts.map(\.addToCart))::bigint[])
            ON CONFLICT (influencer, day, stream, code) DO UPDATE SET
                visits = LEAST(\(unescaped: schema).funnel.visits + excluded.visits, \(cap)),
                add_to_cart = LEAST(\(unescaped: schema).funnel.add_to_cart + excluded.add_to_cart, \(cap))
            """, write: true)
    }

    public func earnings(of influencer: String, since: Int64, until: Int64, bucketMilliseconds: Int64) async throws -> EarningsReport {
        try await migrated()
        let s = schema
        let bucket = max(1, bucketMilliseconds)
        let limit = EarningsReport.maxRows + 1
        let logger = self.logger
        // One snapshot for the four parts; sums capped at 2^53 - 1 (a bigint cast of a
        // larger numeric would fail the whole report).
        let cap = JSONValue.maxSafeInteger
        return try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            var report = EarningsReport()
            let totals = try await connection.query(
                """
                SELECT currency, status, LEAST(sum(quantity), \(cap))::bigint, LEAST(sum(amount), \(cap))::bigint, LEAST(sum(commission), \(cap))::bigint
                FROM \(unescaped: s).earning WHERE influencer = \(influencer) AND created_at >= \(since) AND created_at < \(until)
                GROUP BY currency, status ORDER BY currency, status
                """, logger: logger)
            for try await row in totals.decode((String, String, Int64, Int64, Int64).self) {
                guard let status = EarningsReport.Status(rawValue: row.1) else { continue }
                report.totals.append(EarningsReport.Total(currency: row.0, status: status, quantity: row.2, amount: row.3, commission: row.4))
            }
            let groups = try await connection.query(
                """
                SELECT stream, code, product, currency, status, LEAST(sum(quantity), \(cap))::bigint, LEAST(sum(amount), \(cap))::bigint,
                    LEAST(sum(commission), \(cap))::bigint
                FROM \(unescaped: s).earning WHERE influencer = \(influencer) AND created_at >= \(since) AND created_at < \(until)
                GROUP BY stream, code, product, currency, status ORDER BY stream, code, product, currency, status LIMIT \(limit)
                """, logger: logger)
            for try await row in groups.decode((String, String, String, String, String, Int64, Int64, Int64).self) {
                guard let status = EarningsReport.Status(rawValue: row.4) else { continue }
                report.groups.append(
                    EarningsReport.Group(
                        stream: row.0, code: row.1, product: row.2, currency: row.3, status: status, quantity: row.5, amount: row.6, commission: row.7))
            }
            let tallies = try await connection.query(
                """
                SELECT stream, code, count(DISTINCT checkout_id),
                    count(DISTINCT CASE WHEN status = 'confirmed' THEN checkout_id || ':' || merchant END),
                    count(DISTINCT CASE WHEN status = 'failed' THEN checkout_id || ':' || merchant END)
                FROM \(unescaped: s).earning WHERE influencer = \(influencer) AND created_at >= \(since) AND created_at < \(until)
                GROUP BY stream, code ORDER BY stream, code LIMIT \(limit)
                """, logger: logger)
            for try await row in tallies.decode((String, String, Int64, Int64, Int64).self) {
                report.tallies.append(EarningsReport.Tally(stream: row.0, code: row.1, checkouts: row.2, confirmedOrders: row.3, failedOrders: row.4))
            }
            let days = EarningsReport.days(since: since, until: until)
            let funnelRows = try await connection.query(
                """
                SELECT stream, code, LEAST(sum(visits), \(cap))::bigint, LEAST(sum(add_to_cart), \(cap))::bigint
                FROM \(unescaped: s).funnel WHERE influencer = \(influencer) AND day >= \(days.lowerBound) AND day <= \(days.upperBound)
                GROUP BY stream, code ORDER BY stream, code LIMIT \(limit)
                """, logger: logger)
            var funnel: [(stream: String, code: String, visits: Int64, addToCart: Int64)] = []
            for try await row in funnelRows.decode((String, String, Int64, Int64).self) { funnel.append((row.0, row.1, row.2, row.3)) }
            report.tallies = EarningsReport.merge(report.tallies, funnel: funnel)
            // Newest first, so that a long history cuts its oldest buckets.
            let timeline = try await connection.query(
                """
                SELECT stream, currency, status, (created_at / \(bucket)) * \(bucket) AS start, LEAST(sum(quantity), \(cap))::bigint,
                    LEAST(sum(amount), \(cap))::bigint, LEAST(sum(commission), \(cap))::bigint
                FROM \(unescaped: s).earning WHERE influencer = \(influencer) AND created_at >= \(since) AND created_at < \(until)
                GROUP BY stream, currency, status, start ORDER BY start DESC, stream, currency, status LIMIT \(limit)
                """, logger: logger)
            for try await row in timeline.decode((String, String, String, Int64, Int64, Int64, Int64).self) {
                guard let status = EarningsReport.Status(rawValue: row.2) else { continue }
                report.timeline.append(
                    EarningsReport.Bucket(stream: row.0, currency: row.1, status: status, start: row.3, quantity: row.4, amount: row.5, commission: row.6))
            }
            report.truncated = [report.groups.count, report.tallies.count, report.timeline.count, funnel.count].contains { $0 > EarningsReport.maxRows }
            report.groups = Array(report.groups.prefix(EarningsReport.maxRows))
            report.tallies = Array(report.tallies.prefix(EarningsReport.maxRows))
            report.timeline = report.timeline.prefix(EarningsReport.maxRows).reversed()
            return report
        }
    }
}
