import HawkerCommerce
import HawkerProtocol

/// One merchant's part of an accepted checkout: what the relay delivers to that
/// merchant's backend, at least once, under `idempotencyKey`.
public struct OutboxDelivery: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case pending
        case confirmed
        case rejected
        /// Given up on after too many attempts or too long; re-drivable by an operator.
        case deadLettered = "dead_lettered"
    }

    public var checkoutID: String
    public var merchant: String
    public var stream: StreamID
    public var buyer: String
    /// Only this merchant's lines.
    public var lines: [Reservation.Line]
    public var region: String
    /// Where it ships; nil for checkouts stored before destinations were structured.
    public var shipTo: Destination?
    /// This merchant's part: goods, shipping, tax, total (empty before quotes).
    public var charges: [Charge] = []
    public var attribution: CheckoutRequest.Attribution
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var lastError: String?
    public var reference: String?
    public var createdAt: Int64
    /// When an operator last re-drove it: its age counts from then.
    public var redrivenAt: Int64?
    /// The trace context to continue (`OrderTracing`): as stored, the checkout's; as handed
    /// to a backend, the delivery attempt's, for the backend to pass on (`traceparent`).
    /// Empty when the checkout was not traced.
    public var traceContext: [String: String] = [:]

    /// Where `RetryPolicy`'s age limit counts from.
    public var ageFrom: Int64 { max(createdAt, redrivenAt ?? 0) }

    /// What the backend deduplicates on: one order per checkout and merchant.
    public var idempotencyKey: String { "\(checkoutID):\(merchant)" }
}

/// What delivering a part led to.
public enum DeliveryOutcome: Sendable, Hashable {
    case confirmed(reference: String)
    case rejected(reason: String)
    /// Try again at `at` (milliseconds since the Unix epoch).
    case retry(at: Int64, error: String)
    case deadLetter(reason: String)

    /// What an outbox writes for it: the delivery's status, the merchant's reference, the
    /// error kept, and when the next attempt is due (nil: unchanged).
    var columns: (status: OutboxDelivery.Status, reference: String?, error: String?, nextAttemptAt: Int64?) {
        switch self {
        case .confirmed(let reference): (.confirmed, reference, nil, nil)
        case .rejected(let reason): (.rejected, nil, reason, nil)
        case .retry(let at, let error): (.pending, nil, error, at)
        case .deadLetter(let reason): (.deadLettered, nil, reason, nil)
        }
    }
}

extension OutboxDelivery {
    /// The order as every backend sends it to the merchant (webhook body, PostgreSQL row,
    /// `order.requested` without its routing fields). PROTOCOL.md documents the fields.
    public var payload: [String: JSONValue] {
        var payload: [String: JSONValue] = [
            "checkout_id": .string(checkoutID),
            "merchant": .string(merchant),
            "idempotency_key": .string(idempotencyKey),
            "stream": .string(stream.rawValue),
            "buyer": .string(buyer),
            "items": .array(lines.map(\.orderJSON)),
            "region": .string(region),
            "attribution": attribution.json,
            "created_at": .int(createdAt),
        ]
        if let shipTo { payload["ship_to"] = shipTo.json }
        if !charges.isEmpty { payload["charges"] = .array(charges.map(\.json)) }
        return payload
    }
}

extension Reservation.Line {
    /// A cart line as the buyer sees it (`checkout.accepted`).
    public var json: JSONValue {
        var item: [String: JSONValue] = [
            "product": .string(product), "qty": .int(quantity), "unit_price": .int(unitPrice),
            "currency": .string(currency), "merchant": .string(merchant),
        ]
        if let variant { item["variant"] = .string(variant) }
        if let sale { item["sale"] = .string(sale) }
        return .object(item)
    }

    /// The line in a merchant's order: with the influencer's code and commission.
    public var orderJSON: JSONValue {
        guard let credit, case .object(var item) = json else { return json }
        item["attribution"] = credit.json
        return .object(item)
    }
}
