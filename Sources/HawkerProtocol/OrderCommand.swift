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
    /// For `cancelled` and `returned`: the units the merchant takes back.
    public var reversal: Reversal?
    /// Whose part it is about, for a merchant with more than one in the checkout (its own
    /// sale and a shipment it makes for another seller, or shipments for two sellers).
    public var seller: String?
    /// The buyer's request this answers (`OrderRequest.id`): with `cancelled` or `returned`
    /// it is accepted (and its units taken back), with `declined` declined.
    public var requestID: String?

    /// The status that declines a buyer's request.
    public static let declinedStatus = "declined"

    /// What only a seller says of its order: a supplier reports its shipment's progress
    /// (packed, shipped, delivered...), not the sale's outcome or money.
    public static let sellerOnlyStatuses: Set<String> = ["confirmed", "failed", "rejected", "refunded", "cancelled", "returned", "declined"]

    /// Units of an order a merchant takes back (a cancellation before shipment, a return):
    /// `items` nil for every unit not taken back yet; once per `id` (a retry is no second
    /// return); `restock` whether they go back into stock.
    public struct Reversal: Sendable, Hashable {
        public struct Item: Sendable, Hashable {
            public var product: String
            public var variant: String?
            public var quantity: Int64

            public init(product: String, variant: String?, quantity: Int64) {
                self.product = product
                self.variant = variant
                self.quantity = quantity
            }
        }

        public var id: String
        public var items: [Item]?
        public var restock: Bool

        public init(id: String, items: [Item]?, restock: Bool) {
            self.id = id
            self.items = items
            self.restock = restock
        }

        /// Statuses that take units back, with whether they go back into stock by default
        /// (a cancelled order was not shipped; a returned unit is the merchant's to judge).
        public static let statuses: [String: Bool] = ["cancelled": true, "returned": false]
    }

    public init(
        checkoutID: String, status: String, reference: String? = nil, tracking: String? = nil, note: String? = nil, reversal: Reversal? = nil,
        seller: String? = nil, requestID: String? = nil
    ) {
        self.requestID = requestID
        self.reversal = reversal
        self.seller = seller
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
        if let requestID { body["request_id"] = .string(requestID) }
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
        var requestID: String?
        if let value = fields["request_id"], value != .null {
            guard let text = value.stringValue, Identifier.isValid(text) else {
                throw InvalidOrderUpdate(message: "'request_id' must be the id of the buyer's request it answers")
            }
            guard Reversal.statuses[status] != nil || status == declinedStatus else {
                throw InvalidOrderUpdate(message: "'request_id' goes with cancelled or returned (accepting the buyer's request) or declined")
            }
            requestID = text
        }
        if status == declinedStatus, requestID == nil {
            throw InvalidOrderUpdate(message: "'declined' answers a buyer's request: name it ('request_id'), with a 'note' for the buyer")
        }
        var reversal: Reversal?
        if let restockByDefault = Reversal.statuses[status] {
            // Accepting a buyer's request: its id is the return's unless the merchant names one.
            var id = requestID ?? status
            if let value = fields["return_id"], value != .null {
                guard let text = value.stringValue, Identifier.isValid(text) else {
                    throw InvalidOrderUpdate(message: "'return_id' must be 1-64 of [A-Za-z0-9_.:-]: the merchant's number for this return, once per return")
                }
                id = text
            }
            let items = try Reversal.Item.parse(fields["items"])
            var restock = restockByDefault
            if let value = fields["restock"], value != .null {
                guard let flag = value.boolValue else { throw InvalidOrderUpdate(message: "'restock' must be true or false") }
                restock = flag
            }
            reversal = Reversal(id: id, items: items, restock: restock)
        }
        var seller: String?
        if let value = fields["seller"], value != .null {
            guard let text = value.stringValue, Identifier.isValid(text) else { throw InvalidOrderUpdate(message: "'seller' must be a merchant id") }
            seller = text
        }
        return OrderStatusUpdate(
            checkoutID: checkoutID, status: status,
            reference: try optional("reference", 128), tracking: try optional("tracking", 128), note: try optional("note", 500), reversal: reversal,
            seller: seller, requestID: requestID
        )
    }
}

/// Why an order status update was refused.
public struct InvalidOrderUpdate: Error, Sendable, Hashable {
    public let message: String
}
