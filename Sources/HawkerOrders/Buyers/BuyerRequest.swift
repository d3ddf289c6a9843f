import HawkerCommerce
import HawkerProtocol

/// A buyer's request to cancel or return units of a seller's confirmed order, as the
/// outbox keeps it: delivered to the seller's backend at least once (like an order, under
/// its own idempotency key), then answered by the merchant (`order.update` naming it).
public struct BuyerRequest: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// Not delivered to the merchant yet.
        case pending
        /// The merchant's backend has it; its answer is to come.
        case received
        /// The merchant took the units back (cancelled, returned).
        case accepted
        case declined
        /// It could not be delivered (given up on): the buyer may ask again.
        case failed

        /// Still to be answered: its units are spoken for.
        public var isOpen: Bool { self == .pending || self == .received }
    }

    public var checkoutID: String
    /// The seller of the part.
    public var merchant: String
    /// The buyer's id for it.
    public var id: String
    public var kind: OrderRequest.Kind
    /// The units asked for, per line index in the checkout.
    public var units: [Int: Int64]
    /// The same units as items ({product, variant?, qty}), read from the checkout's lines.
    public var items: [OrderStatusUpdate.Reversal.Item]
    public var reason: String?
    public var status: Status
    /// The merchant's reason or note (declined), or its reference for the request (received).
    public var answer: String?
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(
        checkoutID: String, merchant: String, id: String, kind: OrderRequest.Kind, units: [Int: Int64], lines: [Reservation.Line], reason: String?,
        status: Status, answer: String?, createdAt: Int64, updatedAt: Int64
    ) {
        self.checkoutID = checkoutID
        self.merchant = merchant
        self.id = id
        self.kind = kind
        // Only units a line of the checkout holds (a stored row is read as it is written).
        let units = units.filter { index, quantity in
            lines.indices.contains(index) && lines[index].merchant == merchant && quantity >= 1 && quantity <= lines[index].quantity
        }
        self.units = units
        self.items = units.sorted { $0.key < $1.key }.compactMap { index, quantity in
            guard lines.indices.contains(index) else { return nil }
            return OrderStatusUpdate.Reversal.Item(product: lines[index].product, variant: lines[index].variant, quantity: quantity)
        }
        self.reason = reason
        self.status = status
        self.answer = answer
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Requests one part takes at most (declined and failed ones included): a buyer
    /// cannot fill a merchant's queue.
    public static let maxPerPart = 20

    /// Fulfilment statuses after which the goods are on their way: a cancel is refused.
    public static let sentStatuses: Set<String> = ["shipped", "in_transit", "out_for_delivery", "delivered", "returned"]

    /// Whether the merchant said the goods of its part left (a stored `order.status` body
    /// of it with one of `sentStatuses`).
    static func sent(_ bodies: [String], merchant: String) -> Bool {
        bodies.contains { text in
            let body = OutboxCoding.decodeNoticeBody(text)
            return body["merchant"]?.stringValue == merchant && body["status"]?.stringValue.map(sentStatuses.contains) == true
        }
    }

    /// What the outbox writes for a delivery's outcome: the status, the answer kept, the
    /// error kept, and the next attempt (nil: unchanged).
    static func columns(_ outcome: DeliveryOutcome) -> (status: Status, answer: String?, error: String?, nextAttemptAt: Int64?) {
        switch outcome {
        case .confirmed(let reference): (.received, reference, nil, nil)
        case .rejected(let reason): (.declined, reason, nil, nil)
        case .retry(let at, let error): (.pending, nil, error, at)
        // The operator's reason stays in the log; the buyer reads this.
        case .deadLetter(let reason): (.failed, "the merchant could not be reached; try again later", reason, nil)
        }
    }

    /// What the backend deduplicates on: `checkout:merchant/request/id` (ids cannot hold
    /// "/": it never meets an order's key).
    public var idempotencyKey: String { "\(checkoutID):\(merchant)/request/\(id)" }

    /// Whether `request` is a retry of this one: the same kind, and the same items when it
    /// names them.
    func repeats(_ request: OrderRequest, lines: [Reservation.Line]) -> Bool {
        guard request.kind == kind else { return false }
        guard let asked = request.items else { return true }
        var wanted: [Int: Int64] = [:]
        for item in asked {
            guard let index = lines.indices.first(where: { lines[$0].merchant == merchant && lines[$0].product == item.product && lines[$0].variant == item.variant })
            else { return false }
            wanted[index, default: 0] += item.quantity
        }
        return wanted == units
    }

    /// `{request_id, kind, items, reason?, status, answer?, created_at, updated_at}`: the
    /// buyer's history and the reply to `order.request`.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "request_id": .string(id), "kind": .string(kind.rawValue), "items": .array(items.map(\.json)), "status": .string(status.rawValue),
            "created_at": .int(createdAt), "updated_at": .int(updatedAt),
        ]
        if let reason { object["reason"] = .string(reason) }
        if let answer, status == .declined || status == .failed { object["answer"] = .string(answer) }
        return .object(object)
    }

    /// The buyer's `order.request.status` notice of this request as it stands.
    func notice(buyer: String, stream: StreamID, now: Int64) -> OrderNotice {
        var body: [String: JSONValue] = [
            "checkout_id": .string(checkoutID), "merchant": .string(merchant), "request_id": .string(id), "kind": .string(kind.rawValue),
            "status": .string(status.rawValue), "items": .array(items.map(\.json)), "at": .int(now),
        ]
        if let answer, status == .declined || status == .failed { body["answer"] = .string(answer) }
        return OrderNotice(buyer: buyer, checkoutID: checkoutID, stream: stream, type: .orderRequestStatus, body: body, createdAt: now)
    }

    /// Why the outbox did not take a request.
    public enum Refusal: Error, Sendable, Hashable {
        /// No such checkout of this buyer.
        case unknownOrder
        /// The checkout has no sale of this merchant.
        case unknownPart
        /// The merchant has not confirmed the order (pending, failed).
        case notConfirmed
        /// A cancel after the merchant said it shipped.
        case shipped
        /// `maxPerPart` reached.
        case tooMany
        /// The id was used for another request of this order.
        case idInUse
        case invalid(String)
    }

    /// A stored request and whether it was stored before (a retry).
    public struct Placed: Sendable, Hashable {
        public var request: BuyerRequest
        public var replayed: Bool
        /// The buyer's notice is not stored for a new request: the reply says it.
        public init(request: BuyerRequest, replayed: Bool) {
            self.request = request
            self.replayed = replayed
        }
    }

    /// Checks a request against its part as stored (the seller's order's status, its
    /// requests, the units taken back, the bodies of the checkout's `order.status` notices
    /// when it is a cancel): what is to be stored (or was, for a retry).
    static func place(
        _ request: OrderRequest, lines: [Reservation.Line], partStatus: String, stored: [BuyerRequest], reversed: [[Int: Int64]], sentBodies: [String],
        now: Int64
    ) -> Result<Placed, Refusal> {
        if let same = stored.first(where: { $0.id == request.id }) {
            return same.repeats(request, lines: lines) ? .success(Placed(request: same, replayed: true)) : .failure(.idInUse)
        }
        guard stored.count < maxPerPart else { return .failure(.tooMany) }
        guard partStatus == OutboxDelivery.Status.confirmed.rawValue else { return .failure(.notConfirmed) }
        if request.kind == .cancel, sent(sentBodies, merchant: request.merchant) { return .failure(.shipped) }
        let spoken = reversed + stored.filter(\.status.isOpen).map(\.units)
        switch plan(lines: lines, merchant: request.merchant, spoken: spoken, items: request.items) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let units):
            let new = BuyerRequest(
                checkoutID: request.checkoutID, merchant: request.merchant, id: request.id, kind: request.kind, units: units, lines: lines,
                reason: request.reason, status: .pending, answer: nil, createdAt: now, updatedAt: now)
            return .success(Placed(request: new, replayed: false))
        }
    }

    /// Declines `request` with `note`: true when it changed, false for a retry (declined
    /// already), a refusal when it was answered otherwise.
    static func decline(_ request: inout BuyerRequest, note: String?, now: Int64) -> Result<Bool, Refusal> {
        if request.status == .declined { return .success(false) }
        guard request.status.isOpen else { return .failure(.invalid("request '\(request.id)' was answered already (\(request.status.rawValue))")) }
        request.status = .declined
        request.answer = note ?? "the merchant declined"
        request.updatedAt = now
        return .success(true)
    }

    /// The units a new request asks for: `items`, or every unit not taken back nor asked
    /// for by an open request (`spoken`), per line index.
    static func plan(lines: [Reservation.Line], merchant: String, spoken: [[Int: Int64]], items: [OrderStatusUpdate.Reversal.Item]?) -> Result<[Int: Int64], Refusal> {
        switch PartReversal.plan(lines: lines, merchant: merchant, earlier: spoken, items: items, asking: true) {
        case .success(let units): .success(units)
        case .failure(.invalid(let message)): .failure(.invalid(message))
        case .failure: .failure(.unknownPart)
        }
    }
}
