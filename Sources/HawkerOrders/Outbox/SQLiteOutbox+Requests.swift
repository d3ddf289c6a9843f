import GRDB
import HawkerCommerce
import HawkerProtocol

/// Buyers' cancel and return requests: stored, claimed and answered like orders, in
/// a table of their own (`request`, migration v8).
extension SQLiteOutbox {
    /// A pending request is due at `time`: the next poll reads the table.
    func requestDue(at time: Int64) {
        requestsDueVersion &+= 1
        requestsDueAt = min(requestsDueAt ?? time, time)
    }

    public func request(_ request: OrderRequest, buyer: String, now: Int64) async throws -> Result<BuyerRequest.Placed, BuyerRequest.Refusal> {
        // Noted before the write too: a poll reading meanwhile does not clear it.
        requestDue(at: now)
        return try await commit { db -> Result<BuyerRequest.Placed, BuyerRequest.Refusal> in
            guard
                let checkout = try Row.fetchOne(
                    db, sql: "SELECT reservation FROM checkout WHERE id = ? AND buyer = ?", arguments: [request.checkoutID, buyer]),
                let reservation = try? OutboxCoding.decodeReservation(checkout["reservation"])
            else { return .failure(.unknownOrder) }
            guard
                let status = try String.fetchOne(
                    db, sql: "SELECT status FROM delivery WHERE checkout_id = ? AND merchant = ? AND seller = merchant",
                    arguments: [request.checkoutID, request.merchant])
            else { return .failure(.unknownPart) }
            let lines = reservation.lines
            let stored = try Row.fetchAll(
                db, sql: "SELECT * FROM request WHERE checkout_id = ? AND merchant = ?", arguments: [request.checkoutID, request.merchant]
            ).compactMap { Self.request($0, lines: lines) }
            let reversed = try String.fetchAll(
                db, sql: "SELECT units FROM reversal WHERE checkout_id = ? AND merchant = ?", arguments: [request.checkoutID, request.merchant]
            ).map(PartReversal.decode)
            let bodies =
                request.kind == .cancel
                ? try String.fetchAll(db, sql: "SELECT body FROM notice WHERE checkout_id = ? AND type = 'order.status'", arguments: [request.checkoutID]) : []
            let placed = BuyerRequest.place(
                request, lines: lines, partStatus: status, stored: stored, reversed: reversed, sentBodies: bodies, now: now)
            guard case .success(let new) = placed, !new.replayed else { return placed }
            try Self.execute(
                db,
                """
                INSERT INTO request (checkout_id, merchant, id, kind, units, reason, status, next_attempt_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)
                """,
                [request.checkoutID, request.merchant, request.id, request.kind.rawValue, PartReversal.encode(new.request.units), request.reason, now, now, now])
            return placed
        }
    }

    public func claimRequests(
        now: Int64, limit: Int, claimMilliseconds: Int64, excluding: Set<String>, skipping: Set<String>, skippingUnlessBefore: Int64
    ) async throws -> [OutboxDelivery] {
        claims = claims.filter { $0.value > now }
        let taken = excluding.union(claims.keys)
        var condition = "r.status = 'pending' AND r.next_attempt_at <= ?"
        var arguments: StatementArguments = [now]
        if !skipping.isEmpty {
            condition += " AND (r.merchant NOT IN (\(skipping.map { _ in "?" }.joined(separator: ", "))) OR r.created_at < ?)"
            arguments += StatementArguments(Array(skipping))
            arguments += [skippingUnlessBefore]
        }
        // Nothing pending, or nothing due yet: no read (the relay polls ten times a second).
        guard let due = requestsDueAt, due <= now else { return [] }
        let version = requestsDueVersion
        let (sql, values) = (condition, arguments)
        let (claimed, earliest): ([OutboxDelivery], Int64?) = try await pool.read { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT r.*, c.stream, c.buyer, c.reservation, d.reference AS order_reference
                        FROM request r JOIN checkout c ON c.id = r.checkout_id
                        JOIN delivery d ON d.checkout_id = r.checkout_id AND d.merchant = r.merchant AND d.seller = r.merchant
                        WHERE \(sql) ORDER BY r.next_attempt_at LIMIT ?
                        """), arguments: values + [max(0, limit) + taken.count])
            let earliest = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MIN(next_attempt_at) FROM request WHERE status = 'pending'"))
            return (
                rows.compactMap { row -> OutboxDelivery? in
                    // A row that does not read is left out, not fatal (as `due` does).
                    guard let (reservation, trace) = try? OutboxCoding.decodeCheckout(row["reservation"]),
                        let request = Self.request(row, lines: reservation.lines), !taken.contains(request.idempotencyKey)
                    else { return nil }
                    return try? OutboxCoding.requestDelivery(
                        request, attempts: row["attempts"], nextAttemptAt: row["next_attempt_at"], lastError: row["last_error"],
                        reference: row["order_reference"], stream: row["stream"], buyer: row["buyer"], reservation: reservation, trace: trace)
                }, earliest
            )
        }
        // Unless a request changed meanwhile (it set its own due time).
        if requestsDueVersion == version { requestsDueAt = earliest }
        let (until, overflow) = now.addingReportingOverflow(claimMilliseconds)
        let mine = claimed.prefix(max(0, limit))
        for delivery in mine { claims[delivery.idempotencyKey] = overflow ? .max : until }
        return Array(mine)
    }

    @discardableResult
    public func recordRequest(
        _ outcome: DeliveryOutcome, checkoutID: String, merchant: String, id: String, now: Int64, attempted: Bool, notice: OrderNotice?
    ) async throws -> (applied: Bool, noticeID: Int64?) {
        let (status, answer, error, next) = BuyerRequest.columns(outcome)
        let noticeRow = try notice.map(Self.row)
        claims["\(checkoutID):\(merchant)/request/\(id)"] = nil
        if let next { requestDue(at: next) }
        return try await commit { db -> (applied: Bool, noticeID: Int64?) in
            try Self.execute(
                db,
                """
                UPDATE request SET status = ?, attempts = attempts + ?, answer = COALESCE(?, answer), last_error = COALESCE(?, last_error),
                    next_attempt_at = COALESCE(?, next_attempt_at), updated_at = CASE WHEN status = ? THEN updated_at ELSE ? END
                WHERE checkout_id = ? AND merchant = ? AND id = ? AND status = 'pending'
                """, [status.rawValue, attempted ? 1 : 0, answer, error, next, status.rawValue, now, checkoutID, merchant, id])
            guard db.changesCount > 0 else { return (false, nil) }
            guard let noticeRow else { return (true, nil) }
            try Self.insert(noticeRow, db)
            return (true, db.lastInsertedRowID)
        }
    }

    public func declineRequest(checkoutID: String, merchant: String, id: String, note: String?, now: Int64) async throws -> Result<OrderNotice?, BuyerRequest.Refusal> {
        try await commit { db -> Result<OrderNotice?, BuyerRequest.Refusal> in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT r.*, c.buyer, c.stream, c.reservation FROM request r JOIN checkout c ON c.id = r.checkout_id WHERE r.checkout_id = ? AND r.merchant = ? AND r.id = ?",
                    arguments: [checkoutID, merchant, id]),
                let reservation = try? OutboxCoding.decodeReservation(row["reservation"]), let stream = try? OutboxCoding.streamID(row["stream"]),
                var request = Self.request(row, lines: reservation.lines)
            else { return .failure(.invalid("the buyer made no request '\(id)' of this order")) }
            switch BuyerRequest.decline(&request, note: note, now: now) {
            case .failure(let refusal): return .failure(refusal)
            case .success(false): return .success(nil)
            case .success(true): break
            }
            try Self.execute(
                db, "UPDATE request SET status = 'declined', answer = ?, updated_at = ? WHERE checkout_id = ? AND merchant = ? AND id = ?",
                [request.answer, now, checkoutID, merchant, id])
            var notice = request.notice(buyer: reservation.buyer, stream: stream, now: now)
            try Self.insert(try Self.row(notice), db)
            notice.id = db.lastInsertedRowID
            return .success(notice)
        }
    }

    static func request(_ row: Row, lines: [Reservation.Line]) -> BuyerRequest? {
        OutboxCoding.request(
            checkoutID: row["checkout_id"], merchant: row["merchant"], id: row["id"], kind: row["kind"], units: row["units"], reason: row["reason"],
            status: row["status"], answer: row["answer"], createdAt: row["created_at"], updatedAt: row["updated_at"], lines: lines)
    }
}
