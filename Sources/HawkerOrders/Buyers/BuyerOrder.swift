import HawkerCommerce
import HawkerProtocol

/// One of a buyer's checkouts as their order history shows it: what was bought and paid,
/// and how each merchant's part stands (the order's outcome, and the merchant's latest
/// word on its fulfilment: packed, shipped with tracking...).
public struct BuyerOrder: Sendable, Hashable {
    public struct Part: Sendable, Hashable {
        public var merchant: String
        public var status: OutboxDelivery.Status
        /// The merchant's order number, once confirmed.
        public var reference: String?
        /// The body of the merchant's latest `order.status` (status, tracking, note, at).
        public var fulfilment: [String: JSONValue]?
        /// The buyer's cancel and return requests of this part, oldest first.
        public var requests: [BuyerRequest] = []
        /// The units the merchant took back (cancellations, returns), per line index.
        public var reversed: [[Int: Int64]] = []
        /// Whether the merchant said the goods left (`BuyerRequest.sentStatuses`).
        public var sent = false

        public init(merchant: String, status: OutboxDelivery.Status, reference: String?, fulfilment: [String: JSONValue]? = nil) {
            self.merchant = merchant
            self.status = status
            self.reference = reference
            self.fulfilment = fulfilment
        }
    }

    public var reservation: Reservation
    public var stream: StreamID
    public var parts: [Part]

    public init(reservation: Reservation, stream: StreamID, parts: [Part]) {
        self.reservation = reservation
        self.stream = stream
        self.parts = parts
    }

    /// Most orders a history page holds.
    public static let maxPage = 100

    /// A page of a buyer's history: its orders, and where the next page starts (the last
    /// checkout read, when the page was full: a row that did not read is skipped, not
    /// the end of the history).
    public struct Page: Sendable, Hashable {
        public var orders: [BuyerOrder]
        public var nextAfter: String?

        public init(orders: [BuyerOrder], nextAfter: String?) {
            self.orders = orders
            self.nextAfter = nextAfter
        }
    }

    /// For the buyer: a part is pending, confirmed or failed (rejected, or given up on).
    static func buyerStatus(_ status: OutboxDelivery.Status) -> String {
        switch status {
        case .pending, .held: "pending"
        case .confirmed: "confirmed"
        case .rejected, .deadLettered: "failed"
        }
    }

    /// The order as a whole: confirmed when every part is, pending while one is on its
    /// way, failed when every part failed, else partly failed.
    public var status: String {
        let statuses = Set(parts.map { Self.buyerStatus($0.status) })
        if statuses.contains("pending") { return "pending" }
        if statuses == ["confirmed"] { return "confirmed" }
        if statuses == ["failed"] { return "failed" }
        return "partly_failed"
    }

    /// `{checkout_id, stream, created_at, status, items, totals, charges?, ship_to?, parts}`;
    /// each part `{merchant, status, reference?, fulfilment?, requests?, may_request}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "checkout_id": .string(reservation.checkoutID), "stream": .string(stream.rawValue), "created_at": .int(reservation.createdAt),
            "status": .string(status), "items": .array(reservation.lines.map(\.json)), "totals": totalsJSON(reservation.totals ?? []),
            "parts": .array(
                parts.map { part in
                    var object: [String: JSONValue] = ["merchant": .string(part.merchant), "status": .string(Self.buyerStatus(part.status))]
                    if let reference = part.reference { object["reference"] = .string(reference) }
                    if let fulfilment = part.fulfilment { object["fulfilment"] = .object(fulfilment) }
                    if !part.requests.isEmpty { object["requests"] = .array(part.requests.map(\.json)) }
                    object["may_request"] = .array(mayRequest(part).map { .string($0.rawValue) })
                    return .object(object)
                }),
        ]
        if !reservation.charges.isEmpty { object["charges"] = .array(reservation.charges.map(\.json)) }
        if let shipTo = reservation.shipTo { object["ship_to"] = shipTo.json }
        return .object(object)
    }

    /// Applies the stored bodies of the checkout's `order.status` notices, oldest first:
    /// each part keeps its merchant's latest.
    mutating func apply(updates: [String]) {
        for text in updates {
            guard let (merchant, fulfilment) = Self.fulfilment(fromNotice: OutboxCoding.decodeNoticeBody(text)),
                let index = parts.firstIndex(where: { $0.merchant == merchant })
            else { continue }
            parts[index].fulfilment = fulfilment
            if fulfilment["status"]?.stringValue.map(BuyerRequest.sentStatuses.contains) == true { parts[index].sent = true }
        }
    }

    /// What the buyer may ask of a part now: nothing unless it is confirmed with units
    /// neither taken back nor asked for by an open request (and fewer than
    /// `BuyerRequest.maxPerPart` requests); a return, and a cancel until the merchant said
    /// the goods left. The server checks again when asked.
    func mayRequest(_ part: Part) -> [OrderRequest.Kind] {
        guard part.status == .confirmed, part.requests.count < BuyerRequest.maxPerPart else { return [] }
        let spoken = part.reversed + part.requests.filter(\.status.isOpen).map(\.units)
        let left = reservation.lines.indices.reduce(Int64(0)) { total, index in
            guard reservation.lines[index].merchant == part.merchant else { return total }
            let taken = spoken.reduce(Int64(0)) { $0 + ($1[index] ?? 0) }
            return total + max(0, reservation.lines[index].quantity - taken)
        }
        guard left > 0 else { return [] }
        return part.sent ? [.return] : [.cancel, .return]
    }

    /// Gives each part the units its merchant took back (stored reversals' units).
    mutating func apply(reversals: [(merchant: String, units: String)]) {
        for (merchant, units) in reversals {
            guard let index = parts.firstIndex(where: { $0.merchant == merchant }) else { continue }
            parts[index].reversed.append(PartReversal.decode(units))
        }
    }

    /// Gives each part its requests.
    mutating func apply(requests: [BuyerRequest]) {
        for request in requests {
            guard let index = parts.firstIndex(where: { $0.merchant == request.merchant }) else { continue }
            parts[index].requests.append(request)
        }
    }

    /// The fulfilment a stored `order.status` notice body says, for its merchant.
    static func fulfilment(fromNotice body: [String: JSONValue]) -> (merchant: String, fulfilment: [String: JSONValue])? {
        guard let merchant = body["merchant"]?.stringValue, body["status"]?.stringValue != nil else { return nil }
        var fulfilment = body
        for routing in ["merchant", "checkout_id", "type", "stream"] { fulfilment[routing] = nil }
        return (merchant, fulfilment)
    }
}
