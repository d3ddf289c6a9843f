import HawkerCommerce
import HawkerProtocol

/// One party's part of an accepted checkout: what the relay delivers to that merchant's
/// backend, at least once, under `idempotencyKey`. A seller gets its sale; a supplier
/// that ships some of a seller's lines (dropship) gets their shipment, held until the
/// seller confirms its sale.
public struct OutboxDelivery: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// A supplier's shipment waiting for its seller to confirm the sale.
        case held
        case pending
        case confirmed
        case rejected
        /// Given up on after too many attempts or too long; re-drivable by an operator.
        case deadLettered = "dead_lettered"
    }

    public var checkoutID: String
    /// Who receives it: the seller, or for a shipment the supplier.
    public var merchant: String
    /// Whose sale it is part of: `merchant` for a sale.
    public var seller: String
    public var stream: StreamID
    public var buyer: String
    /// The seller's lines; for a shipment, those of them this supplier ships.
    public var lines: [Reservation.Line]
    public var region: String
    /// Where it ships; nil for checkouts stored before destinations were structured.
    public var shipTo: Destination?
    /// The seller's part: goods, shipping, tax, total (empty before quotes, and for a
    /// shipment: what the buyer paid is the seller's business).
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
    /// Set when this is a buyer's request to the seller (cancel, return), not an order:
    /// `lines` are then the seller's, `reference` its order number.
    public var request: BuyerRequest?

    /// Where `RetryPolicy`'s age limit counts from.
    public var ageFrom: Int64 { max(createdAt, redrivenAt ?? 0, request?.createdAt ?? 0) }

    public var party: Party { Party(merchant: merchant, seller: seller) }

    /// A supplier's shipment for its seller, not a sale.
    public var isShipment: Bool { merchant != seller }

    /// What the backend deduplicates on: one order per checkout and party.
    public var idempotencyKey: String { request?.idempotencyKey ?? Self.idempotencyKey(checkoutID: checkoutID, party: party) }

    /// `checkout:merchant` for a sale (as before suppliers), `checkout:supplier/for/seller`
    /// for a shipment (ids cannot hold "/", so the two never meet).
    public static func idempotencyKey(checkoutID: String, party: Party) -> String {
        party.isShipment ? "\(checkoutID):\(party.merchant)/for/\(party.seller)" : "\(checkoutID):\(party.merchant)"
    }
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
        if let request { return requestPayload(request) }
        if isShipment { return shipmentPayload }
        var payload: [String: JSONValue] = [
            "kind": "sale",
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

    /// A supplier's shipment: what to send where, and what the seller owes for it at the
    /// supplier's prices. No retail prices, charges or attribution: those are the sale's.
    private var shipmentPayload: [String: JSONValue] {
        let items: [JSONValue] = lines.map { line in
            var item: [String: JSONValue] = [
                "product": .string(line.product), "qty": .int(line.quantity), "unit_cost": .int(line.supplier?.price ?? 0), "currency": .string(line.currency),
            ]
            if let variant = line.variant { item["variant"] = .string(variant) }
            return .object(item)
        }
        var payload: [String: JSONValue] = [
            "kind": "shipment",
            "checkout_id": .string(checkoutID),
            "merchant": .string(merchant),
            "seller": .string(seller),
            "idempotency_key": .string(idempotencyKey),
            "stream": .string(stream.rawValue),
            "buyer": .string(buyer),
            "items": .array(items),
            // Within 2^53 − 1: the checkout refused a cart whose suppliers' costs are not.
            "cost": .array((lines.supplierCosts ?? []).map { ["currency": .string($0.currency), "amount": .int($0.amount)] }),
            "region": .string(region),
            "created_at": .int(createdAt),
        ]
        if let shipTo { payload["ship_to"] = shipTo.json }
        return payload
    }

    /// A buyer's request to the seller: which order (its reference), which units, why.
    private func requestPayload(_ request: BuyerRequest) -> [String: JSONValue] {
        var payload: [String: JSONValue] = [
            "kind": .string("\(request.kind.rawValue)_request"),
            "checkout_id": .string(checkoutID),
            "merchant": .string(merchant),
            "request_id": .string(request.id),
            "idempotency_key": .string(idempotencyKey),
            "stream": .string(stream.rawValue),
            "buyer": .string(buyer),
            "items": .array(request.items.map(\.json)),
            "created_at": .int(request.createdAt),
        ]
        if let reference { payload["reference"] = .string(reference) }
        if let reason = request.reason { payload["reason"] = .string(reason) }
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

    /// The line in a seller's order: with the influencer's code and commission, and the
    /// supplier that ships it (dropship).
    public var orderJSON: JSONValue {
        guard credit != nil || supplier != nil, case .object(var item) = json else { return json }
        if let credit { item["attribution"] = credit.json }
        if let supplier { item["supplier"] = supplier.json }
        return .object(item)
    }
}
