/// A buyer asks the seller of a confirmed order to take units back: to cancel them before
/// they ship, or to take a return (`order.request`, `POST /v1/me/orders/{id}/requests`,
/// PROTOCOL.md §6.25). The merchant's backend gets it; the merchant answers with
/// `order.update` naming `request_id` (cancelled or returned to accept, declined to
/// decline).
public struct OrderRequest: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case cancel
        case `return`

        /// The status with which a merchant accepts it (and takes the units back).
        public var acceptingStatus: String {
            switch self {
            case .cancel: "cancelled"
            case .return: "returned"
            }
        }
    }

    public var checkoutID: String
    /// The seller whose part of the checkout it is about.
    public var merchant: String
    /// The buyer's id for it: a retry with the same id is the same request.
    public var id: String
    public var kind: Kind
    /// nil: every unit of the part not taken back or asked for yet.
    public var items: [OrderStatusUpdate.Reversal.Item]?
    public var reason: String?

    public init(checkoutID: String, merchant: String, id: String, kind: Kind, items: [OrderStatusUpdate.Reversal.Item]? = nil, reason: String? = nil) {
        self.checkoutID = checkoutID
        self.merchant = merchant
        self.id = id
        self.kind = kind
        self.items = items
        self.reason = reason
    }

    /// Longest `reason`, in Unicode code points.
    public static let maxReason = 500

    /// Reads the fields of `order.request` (or the HTTP body, with the checkout id from
    /// the path).
    public static func parse(checkoutID: String, fields: [String: JSONValue]) throws(InvalidOrderUpdate) -> OrderRequest {
        guard Identifier.isValid(checkoutID) else { throw InvalidOrderUpdate(message: "'checkout_id' must be a checkout id") }
        guard let merchant = fields["merchant"]?.stringValue, Identifier.isValid(merchant) else {
            throw InvalidOrderUpdate(message: "'merchant' must be the merchant id of the order's part it is about")
        }
        guard let id = fields["request_id"]?.stringValue, Identifier.isValid(id) else {
            throw InvalidOrderUpdate(message: "'request_id' must be 1-64 of [A-Za-z0-9_.:-]: the buyer's id for this request (a retry sends the same)")
        }
        guard let kind = fields["kind"]?.stringValue.flatMap(Kind.init(rawValue:)) else {
            throw InvalidOrderUpdate(message: "'kind' must be cancel (before it ships) or return")
        }
        var reason: String?
        if let value = fields["reason"], value != .null {
            guard let text = value.stringValue, (1...maxReason).contains(text.unicodeScalars.count) else {
                throw InvalidOrderUpdate(message: "'reason' must be a string of 1-\(maxReason) characters")
            }
            reason = text
        }
        return OrderRequest(
            checkoutID: checkoutID, merchant: merchant, id: id, kind: kind, items: try OrderStatusUpdate.Reversal.Item.parse(fields["items"]), reason: reason)
    }
}

extension OrderStatusUpdate.Reversal.Item {
    /// Reads `items` ([{product, variant?, qty}], 1 to `CheckoutRequest.maxLines` of them);
    /// nil when absent (every unit).
    static func parse(_ value: JSONValue?) throws(InvalidOrderUpdate) -> [Self]? {
        guard let value, value != .null else { return nil }
        guard let values = value.arrayValue, (1...CheckoutRequest.maxLines).contains(values.count) else {
            throw InvalidOrderUpdate(message: "'items' must be 1-\(CheckoutRequest.maxLines) of {product, variant?, qty}: the units taken back (leave it out for all)")
        }
        var items: [Self] = []
        for item in values {
            guard let product = item["product"]?.stringValue, Identifier.isValid(product),
                let quantity = item["qty"]?.intValue, (1...CheckoutRequest.maxQuantity).contains(quantity)
            else { throw InvalidOrderUpdate(message: "each of 'items' needs 'product' (an id) and 'qty' (1-\(CheckoutRequest.maxQuantity))") }
            let variant = item["variant"]?.stringValue
            guard variant.map(Identifier.isValid) ?? (item["variant"] == nil || item["variant"] == .null) else {
                throw InvalidOrderUpdate(message: "'variant' must be a variant id")
            }
            items.append(Self(product: product, variant: variant, quantity: quantity))
        }
        return items
    }

    /// `{product, variant?, qty}`.
    public var json: JSONValue {
        var item: [String: JSONValue] = ["product": .string(product), "qty": .int(quantity)]
        if let variant { item["variant"] = .string(variant) }
        return .object(item)
    }
}
