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

    /// `{checkout_id, stream, created_at, status, items, totals, charges?, ship_to?, parts}`.
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
