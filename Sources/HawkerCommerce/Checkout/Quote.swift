import HawkerProtocol

/// What a cart costs delivered to a destination, and which of the stream's products do
/// not ship there: the answer to `quote`.
public struct Quote: Sendable, Hashable {
    public var shipTo: Destination
    /// Each merchant's part of the cart (empty for a quote without items).
    public var charges: [Charge]
    /// Products of the catalog that do not ship to `shipTo` (theirs or their merchant's
    /// regions), sorted.
    public var notShipping: [String]

    public init(shipTo: Destination, charges: [Charge], notShipping: [String]) {
        self.shipTo = shipTo
        self.charges = charges
        self.notShipping = notShipping
    }
}

extension Quote {
    /// The body of the `quote` reply: `{ship_to, charges, totals, not_shipping}`.
    public var json: [String: JSONValue] {
        [
            "ship_to": shipTo.json,
            "charges": .array(charges.map(\.json)),
            "totals": totalsJSON(charges.totals ?? []),
            "not_shipping": .array(notShipping.map(JSONValue.string)),
        ]
    }

    /// Reads the body above (a cluster node's answer).
    public init?(json: JSONValue) {
        guard let shipTo = json["ship_to"].flatMap(Destination.init(json:)), let values = json["charges"]?.arrayValue,
            let notShipping = json["not_shipping"]?.arrayValue
        else { return nil }
        let charges = values.compactMap(Charge.init(json:))
        guard charges.count == values.count else { return nil }
        self.init(shipTo: shipTo, charges: charges, notShipping: notShipping.compactMap(\.stringValue))
    }
}
