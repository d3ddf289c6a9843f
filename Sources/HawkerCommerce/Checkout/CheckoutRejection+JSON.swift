import HawkerProtocol

extension CheckoutRejection {
    /// As a cluster's nodes pass it on: `{reason, message, product?, price?, available?, charges?}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["reason": .string(reason.rawValue), "message": .string(message)]
        if let product { object["product"] = .string(product) }
        if let currentPrice { object["price"] = .int(currentPrice) }
        if let available { object["available"] = .int(available) }
        if let charges { object["charges"] = .array(charges.map(\.json)) }
        return .object(object)
    }

    public init?(json: JSONValue) {
        guard let reason = json["reason"]?.stringValue.flatMap(Reason.init(rawValue:)), let message = json["message"]?.stringValue else { return nil }
        var charges: [Charge]?
        if let values = json["charges"]?.arrayValue {
            let parsed = values.compactMap(Charge.init(json:))
            guard parsed.count == values.count else { return nil }
            charges = parsed
        }
        self.init(
            reason, product: json["product"]?.stringValue, currentPrice: json["price"]?.intValue, available: json["available"]?.intValue, charges: charges,
            message)
    }
}
