/// What an order service (role `order_service`, one merchant) says over its connection.
public enum OrderCommand: Sendable, Hashable {
    /// Start receiving `order.requested`; with `since`, settled orders created from then
    /// on are sent again (a service that lost its own records).
    case subscribe(since: Int64?)
    case ack(delivery: String, result: OrderAcknowledgement)
    /// A later status (shipped, delivered...) for the buyer.
    case update(OrderStatusUpdate)
    /// The merchant's stock levels set (`inventory.set`).
    case setInventory(InventoryUpdate)
    /// The merchant's stock levels of some products read (`inventory.get`).
    case inventory(products: [String])

    /// Products one `inventory.get` names at most.
    public static let maxInventoryProducts = 500

    public var commandName: String {
        switch self {
        case .subscribe: return "orders.subscribe"
        case .ack: return "ack"
        case .update: return "order.update"
        case .setInventory: return "inventory.set"
        case .inventory: return "inventory.get"
        }
    }
}

/// An order service's answer to one delivery.
public enum OrderAcknowledgement: Sendable, Hashable {
    case confirmed(reference: String)
    case rejected(reason: String)
}

/// A status a merchant reports after confirming an order; passed through to the buyer.
public struct OrderStatusUpdate: Sendable, Hashable {
    public var checkoutID: String
    public var status: String
    public var reference: String?
    public var tracking: String?
    public var note: String?

    public init(checkoutID: String, status: String, reference: String? = nil, tracking: String? = nil, note: String? = nil) {
        self.checkoutID = checkoutID
        self.status = status
        self.reference = reference
        self.tracking = tracking
        self.note = note
    }

    /// The fields of `order.status` (and of the HTTP status body), without the routing ones.
    public var body: [String: JSONValue] {
        var body: [String: JSONValue] = ["checkout_id": .string(checkoutID), "status": .string(status)]
        if let reference { body["reference"] = .string(reference) }
        if let tracking { body["tracking"] = .string(tracking) }
        if let note { body["note"] = .string(note) }
        return body
    }

    /// Reads the body of `order.update` or of `POST /v1/orders/{id}/status`.
    public static func parse(checkoutID: String, fields: [String: JSONValue]) throws(InvalidOrderUpdate) -> OrderStatusUpdate {
        guard Identifier.isValid(checkoutID) else { throw InvalidOrderUpdate(message: "'checkout_id' must be a checkout id") }
        guard let status = fields["status"]?.stringValue, Identifier.isValid(status) else {
            throw InvalidOrderUpdate(message: "'status' must be 1-64 of [A-Za-z0-9_.:-] (packed, shipped, delivered...)")
        }
        func optional(_ name: String, _ maximum: Int) throws(InvalidOrderUpdate) -> String? {
            guard let value = fields[name], value != .null else { return nil }
            guard let text = value.stringValue, (1...maximum).contains(text.unicodeScalars.count) else {
                throw InvalidOrderUpdate(message: "'\(name)' must be a string of 1-\(maximum) characters")
            }
            return text
        }
        return OrderStatusUpdate(
            checkoutID: checkoutID, status: status,
            reference: try optional("reference", 128), tracking: try optional("tracking", 128), note: try optional("note", 500)
        )
    }
}

/// Why an order status update was refused.
public struct InvalidOrderUpdate: Error, Sendable, Hashable {
    public let message: String
}
