import HawkerProtocol

/// What a buyer is told about an order (`order.confirmed`, `order.failed`,
/// `order.status`), kept in the outbox until one of the buyer's sessions was sent it.
public struct OrderNotice: Sendable, Hashable {
    /// The outbox row; nil before it is stored.
    public var id: Int64?
    public var buyer: String
    public var checkoutID: String
    public var stream: StreamID
    /// The push type: `order.confirmed`, `order.failed`, `order.status` or
    /// `order.request.status`.
    public var type: MessageType
    /// The push's fields besides `type` and `stream`.
    public var body: [String: JSONValue]
    public var createdAt: Int64

    public init(id: Int64? = nil, buyer: String, checkoutID: String, stream: StreamID, type: MessageType, body: [String: JSONValue], createdAt: Int64) {
        self.id = id
        self.buyer = buyer
        self.checkoutID = checkoutID
        self.stream = stream
        self.type = type
        self.body = body
        self.createdAt = createdAt
    }

    /// The notice for a delivery's outcome, or nil for a retry (nothing to tell yet).
    public static func outcome(_ outcome: DeliveryOutcome, of delivery: OutboxDelivery, at now: Int64) -> OrderNotice? {
        // The buyer's order is the seller's: a supplier's shipment reaches the buyer as
        // the supplier's `order.status` (shipped, tracking), not as an outcome.
        guard !delivery.isShipment else { return nil }
        if var request = delivery.request {
            guard case .retry = outcome else {
                let (status, answer, _, _) = BuyerRequest.columns(outcome)
                request.status = status
                request.answer = answer
                return request.notice(buyer: delivery.buyer, stream: delivery.stream, now: now)
            }
            return nil
        }
        var body: [String: JSONValue] = ["checkout_id": .string(delivery.checkoutID), "merchant": .string(delivery.merchant), "at": .int(now)]
        let type: MessageType
        switch outcome {
        case .confirmed(let reference):
            type = .orderConfirmed
            body["reference"] = .string(reference)
        case .rejected(let reason):
            type = .orderFailed
            body["reason"] = .string(reason)
        case .deadLetter:
            // The operator sees why; the buyer sees that it did not go through.
            type = .orderFailed
            body["reason"] = "the merchant could not be reached"
        case .retry:
            return nil
        }
        return OrderNotice(buyer: delivery.buyer, checkoutID: delivery.checkoutID, stream: delivery.stream, type: type, body: body, createdAt: now)
    }
}

extension OrderNotice {
    /// The notice as JSON: what a cluster node announces to the others, whose sessions of
    /// the buyer then get it too.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "buyer": .string(buyer), "checkout_id": .string(checkoutID), "stream": .string(stream.rawValue), "type": .string(type.rawValue),
            "body": .object(body), "created_at": .int(createdAt),
        ]
        if let id { object["id"] = .int(id) }
        return .object(object)
    }

    /// Reads `json`; nil for anything else.
    public init?(json: JSONValue) {
        guard let object = json.objectValue, let buyer = object["buyer"]?.stringValue, let checkoutID = object["checkout_id"]?.stringValue,
            let stream = object["stream"]?.stringValue.flatMap(StreamID.init), let type = object["type"]?.stringValue.flatMap(MessageType.init(rawValue:)),
            let body = object["body"]?.objectValue, let createdAt = object["created_at"]?.intValue
        else { return nil }
        let id = object["id"]?.intValue
        if object["id"] != nil, id == nil { return nil }
        self.init(id: id, buyer: buyer, checkoutID: checkoutID, stream: stream, type: type, body: body, createdAt: createdAt)
    }
}
