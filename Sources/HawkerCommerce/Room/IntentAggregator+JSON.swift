import HawkerProtocol

extension IntentAggregator.ProductSummary {
    /// One product's line in `intents.summary`.
    var json: JSONValue {
        var windows: [String: JSONValue] = [:]
        for action in IntentAction.allCases {
            let counts = self[action]
            windows[action.rawValue] = ["last_minute": .int(Int64(counts.count1m)), "last_5_minutes": .int(Int64(counts.count5m)), "total": .int(Int64(counts.total))]
        }
        return [
            "product": .string(product),
            "actions": .object(windows),
            "users_last_minute": .int(Int64(distinctUsers1m)),
            "users_last_5_minutes": .int(Int64(distinctUsers5m)),
            "cart_users_last_minute": .int(Int64(cartUsers1m)),
            "cart_users_last_5_minutes": .int(Int64(cartUsers5m)),
            "lower_bounds": .bool(distinctCountsAreLowerBounds),
        ]
    }
}

extension IntentAggregator {
    /// Lifetime totals per product, for insights.
    func lifetimeTotals() -> [(String, [IntentAction: Int])] {
        productIDs.map { ($0, totals(product: $0)) }
    }
}
