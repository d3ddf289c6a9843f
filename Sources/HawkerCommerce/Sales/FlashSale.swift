import HawkerProtocol

/// A time-boxed sale price on one or more products. Times are server time (ms since the
/// Unix epoch), so every viewer's countdown agrees once corrected by the welcome's
/// `server_time`.
public struct FlashSale: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        case scheduled
        case active
    }

    public struct Item: Sendable, Hashable, Codable {
        public var product: String
        public var price: Int64
        public var currency: String
        /// The product's price when the sale was defined, for "was / now" displays.
        public var regularPrice: Int64
    }

    public var id: String
    public var title: String?
    public var items: [Item]
    public var startsAt: Int64
    public var endsAt: Int64
    /// Units sold at the sale price across all buyers, and per buyer; nil is unlimited.
    public var totalLimit: Int64?
    public var perBuyerLimit: Int64?
    public var status: Status
    /// Units sold so far (checkouts count them).
    public var sold: Int64 = 0
    /// Units per buyer, kept only when the sale has a per-buyer limit.
    var boughtByBuyer: [String: Int64] = [:]

    public func item(for product: String) -> Item? { items.first { $0.product == product } }

    /// This scheduled sale started early, at `now` (`sale.started` with only its id).
    func started(at now: Int64) -> FlashSale {
        var sale = self
        sale.startsAt = now
        sale.status = .active
        return sale
    }

    /// The event data for this sale: the whole definition, so a client needs no history.
    public var data: [String: JSONValue] {
        var data: [String: JSONValue] = [
            "sale": .string(id),
            "items": .array(
                items.map {
                    .object(["product": .string($0.product), "price": .int($0.price), "currency": .string($0.currency), "regular_price": .int($0.regularPrice)])
                }),
            "starts_at": .int(startsAt),
            "ends_at": .int(endsAt),
            "status": .string(status.rawValue),
        ]
        if let title { data["title"] = .string(title) }
        if let totalLimit { data["total_limit"] = .int(totalLimit) }
        if let perBuyerLimit { data["per_buyer_limit"] = .int(perBuyerLimit) }
        return data
    }

    /// The state entry: the definition plus the countdown at `now`.
    func json(now: Int64) -> JSONValue {
        var object = data
        object["sold"] = .int(sold)
        switch status {
        case .scheduled: object["starts_in_ms"] = .int(max(0, startsAt - now))
        case .active: object["remaining_ms"] = .int(max(0, endsAt - now))
        }
        return .object(object)
    }
}
