import HawkerCommerce
import HawkerProtocol
import Logging
import PostgresNIO
import Synchronization

/// Buyers' cancel and return requests: stored, claimed and answered like orders, in a
/// table of their own (`request`).
extension PostgresOutbox {
    /// checkout_id, merchant, id, kind, units, reason, status, answer, created_at, updated_at.
    typealias RequestRow = (String, String, String, String, String, String?, String, String?, Int64, Int64)

    static let requestColumns = "r.checkout_id, r.merchant, r.id, r.kind, r.units, r.reason, r.status, r.answer, r.created_at, r.updated_at"

    static func request(_ row: RequestRow, lines: [Reservation.Line]) -> BuyerRequest? {
        OutboxCoding.request(
            checkoutID: row.0, merchant: row.1, id: row.2, kind: row.3, units: row.4, reason: row.5, status: row.6, answer: row.7, createdAt: row.8,
            updatedAt: row.9, lines: lines)
    }

    /// Stores `notice` on `connection` (in its transaction); returns it with its id.
    static func insert(_ notice: OrderNotice, schema s: String, _ connection: PostgresConnection, logger: Logger) async throws -> OrderNotice {
        var stored = notice
        for try await id in try await connection.query(
            """
            INSERT INTO \(unescaped: s).notice (buyer, checkout_id, stream, type, body, created_at)
            VALUES (\(notice.buyer), \(notice.checkoutID), \(notice.stream.rawValue), \(notice.type.rawValue), \(OutboxCoding.encode(.object(notice.body))),
                \(notice.createdAt))
            RETURNING id
            """, logger: logger
        ).decode(Int64.self) {
            stored.id = id
        }
        return stored
    }

    public func request(_ request: OrderRequest, buyer: String, now: Int64) async throws -> Result<BuyerRequest.Placed, BuyerRequest.Refusal> {
        try await migrated()
        writes.add(1, ordering: .relaxed)
        let s = schema
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection -> Result<BuyerRequest.Placed, BuyerRequest.Refusal> in
            var checkout: String?
            for try await reservation in try await connection.query(
                "SELECT reservation FROM \(unescaped: s).checkout WHERE id = \(request.checkoutID) AND buyer = \(buyer)", logger: logger
            ).decode(String.self) {
                checkout = reservation
            }
            guard let checkout, let reservation = try? OutboxCoding.decodeReservation(checkout) else { return .failure(.unknownOrder) }
            // The part's row locked: its requests and reversals are taken one after the other.
            var status: String?
            for try await row in try await connection.query(
                """
                SELECT status FROM \(unescaped: s).delivery
                WHERE checkout_id = \(request.checkoutID) AND merchant = \(request.merchant) AND seller = merchant FOR UPDATE
                """, logger: logger
            ).decode(String.self) {
                status = row
            }
            guard let status else { return .failure(.unknownPart) }
            let lines = reservation.lines
            var stored: [BuyerRequest] = []
            for try await row in try await connection.query(
                "SELECT \(unescaped: Self.requestColumns) FROM \(unescaped: s).request r WHERE r.checkout_id = \(request.checkoutID) AND r.merchant = \(request.merchant)",
                logger: logger
            ).decode(RequestRow.self) {
                if let request = Self.request(row, lines: lines) { stored.append(request) }
            }
            var reversed: [[Int: Int64]] = []
            for try await units in try await connection.query(
                "SELECT units FROM \(unescaped: s).reversal WHERE checkout_id = \(request.checkoutID) AND merchant = \(request.merchant)", logger: logger
            ).decode(String.self) {
                reversed.append(PartReversal.decode(units))
            }
            var bodies: [String] = []
            if request.kind == .cancel {
                for try await body in try await connection.query(
                    "SELECT body FROM \(unescaped: s).notice WHERE checkout_id = \(request.checkoutID) AND type = 'order.status'", logger: logger
                ).decode(String.self) {
                    bodies.append(body)
                }
            }
            let placed = BuyerRequest.place(request, lines: lines, partStatus: status, stored: stored, reversed: reversed, sentBodies: bodies, now: now)
            guard case .success(let new) = placed, !new.replayed else { return placed }
            try await connection.query(
                """
                INSERT INTO \(unescaped: s).request (checkout_id, merchant, id, kind, units, reason, status, next_attempt_at, created_at, updated_at)
                VALUES (\(request.checkoutID), \(request.merchant), \(request.id), \(request.kind.rawValue), \(PartReversal.encode(new.request.units)),
                    \(request.reason), 'pending', \(now), \(now), \(now))
                """, logger: logger)
            return placed
        }
    }

    public func claimRequests(
        now: Int64, limit: Int, claimMilliseconds: Int64, excluding: Set<String>, skipping: Set<String>, skippingUnlessBefore: Int64
    ) async throws -> [OutboxDelivery] {
        let s = schema
        let (until, overflow) = now.addingReportingOverflow(claimMilliseconds)
        // Rows another relay is claiming right now are skipped, not waited for.
        let rows = try await query(
            """
            UPDATE \(unescaped: s).request r SET claimed_until = \(overflow ? Int64.max : until), claimed_by = \(claimant)
            FROM \(unescaped: s).checkout c, \(unescaped: s).delivery d
            WHERE c.id = r.checkout_id AND d.checkout_id = r.checkout_id AND d.merchant = r.merchant AND d.seller = r.merchant
                AND (r.checkout_id, r.merchant, r.id) IN (
                    SELECT r2.checkout_id, r2.merchant, r2.id FROM \(unescaped: s).request r2
                    WHERE r2.status = 'pending' AND r2.next_attempt_at <= \(now) AND (r2.claimed_until IS NULL OR r2.claimed_until <= \(now))
                        AND NOT (r2.checkout_id || ':' || r2.merchant || '/request/' || r2.id = ANY(\(Array(excluding))::text[]))
                        AND (NOT (r2.merchant = ANY(\(Array(skipping))::text[])) OR r2.created_at < \(skippingUnlessBefore))
                    ORDER BY r2.next_attempt_at LIMIT \(max(0, limit))
                    FOR UPDATE OF r2 SKIP LOCKED)
            RETURNING \(unescaped: Self.requestColumns), r.attempts, r.next_attempt_at, r.last_error, d.reference, c.stream, c.buyer, c.reservation
            """, write: true)
        var claimed: [OutboxDelivery] = []
        for try await row in rows.decode((String, String, String, String, String, String?, String, String?, Int64, Int64, Int, Int64, String?, String?, String, String, String).self) {
            // A row that does not read is left out, not fatal (as `due` does).
            guard let (reservation, trace) = try? OutboxCoding.decodeCheckout(row.16),
                let request = Self.request((row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9), lines: reservation.lines),
                let delivery = try? OutboxCoding.requestDelivery(
                    request, attempts: row.10, nextAttemptAt: row.11, lastError: row.12, reference: row.13, stream: row.14, buyer: row.15,
                    reservation: reservation, trace: trace)
            else { continue }
            claimed.append(delivery)
        }
        return claimed.sorted { ($0.nextAttemptAt, $0.idempotencyKey) < ($1.nextAttemptAt, $1.idempotencyKey) }
    }

    @discardableResult
    public func recordRequest(
        _ outcome: DeliveryOutcome, checkoutID: String, merchant: String, id: String, now: Int64, attempted: Bool, notice: OrderNotice?
    ) async throws -> (applied: Bool, noticeID: Int64?) {
        let s = schema
        let (status, answer, error, next) = BuyerRequest.columns(outcome)
        let body = notice.map { OutboxCoding.encode(.object($0.body)) } ?? ""
        // The merchant's answer stands whoever asked; a retry or a dead letter only from
        // the relay that holds the claim.
        let answered: Bool =
            switch outcome {
            case .confirmed, .rejected: true
            case .retry, .deadLetter: false
            }
        let rows = try await query(
            """
            WITH updated AS (
                UPDATE \(unescaped: s).request SET status = \(status.rawValue), attempts = attempts + \(attempted ? 1 : 0),
                    answer = COALESCE(\(answer)::text, answer), last_error = COALESCE(\(error)::text, last_error),
                    next_attempt_at = COALESCE(\(next)::bigint, next_attempt_at),
                    updated_at = CASE WHEN status = \(status.rawValue) THEN updated_at ELSE \(now) END, claimed_until = NULL, claimed_by = NULL
                WHERE checkout_id = \(checkoutID) AND merchant = \(merchant) AND id = \(id) AND status = 'pending'
                    AND (\(answered) OR claimed_by IS NULL OR claimed_by = \(claimant))
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
        for try await (updated, noticeID) in rows.decode((Int64, Int64?).self) { return (updated > 0, noticeID) }
        return (false, nil)
    }

    public func declineRequest(checkoutID: String, merchant: String, id: String, note: String?, now: Int64) async throws -> Result<OrderNotice?, BuyerRequest.Refusal> {
        try await migrated()
        writes.add(1, ordering: .relaxed)
        let s = schema
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection -> Result<OrderNotice?, BuyerRequest.Refusal> in
            var found: (RequestRow, String, String, String)?
            for try await row in try await connection.query(
                """
                SELECT \(unescaped: Self.requestColumns), c.buyer, c.stream, c.reservation
                FROM \(unescaped: s).request r JOIN \(unescaped: s).checkout c ON c.id = r.checkout_id
                WHERE r.checkout_id = \(checkoutID) AND r.merchant = \(merchant) AND r.id = \(id) FOR UPDATE OF r
                """, logger: logger
            ).decode((String, String, String, String, String, String?, String, String?, Int64, Int64, String, String, String).self) {
                found = ((row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9), row.10, row.11, row.12)
            }
            guard let found, let reservation = try? OutboxCoding.decodeReservation(found.3), let stream = try? OutboxCoding.streamID(found.2),
                var request = Self.request(found.0, lines: reservation.lines)
            else { return .failure(.invalid("the buyer made no request '\(id)' of this order")) }
            switch BuyerRequest.decline(&request, note: note, now: now) {
            case .failure(let refusal): return .failure(refusal)
            case .success(false): return .success(nil)
            case .success(true): break
            }
            try await connection.query(
                """
                UPDATE \(unescaped: s).request SET status = 'declined', answer = \(request.answer), updated_at = \(now)
                WHERE checkout_id = \(checkoutID) AND merchant = \(merchant) AND id = \(id)
                """, logger: logger)
            return .success(try await Self.insert(request.notice(buyer: found.1, stream: stream, now: now), schema: s, connection, logger: logger))
        }
    }
}
