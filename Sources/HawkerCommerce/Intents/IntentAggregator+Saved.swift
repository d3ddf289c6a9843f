extension IntentAggregator {
    /// Lifetime totals per product, for a restart; the 1- and 5-minute windows start empty.
    public struct Saved: Sendable, Hashable, Codable {
        /// Per product, indexed by `IntentAction.ordinal`.
        var totals: [String: [Int]]
    }

    public var saved: Saved {
        Saved(totals: products.mapValues(\.totals))
    }

    public init(restoring saved: Saved, configuration: Configuration) {
        self.init(configuration: configuration)
        for (product, totals) in saved.totals.sorted(by: { $0.key < $1.key }).prefix(configuration.maxProducts)
        where totals.count == IntentAction.allCases.count {
            var state = ProductIntentState()
            state.totals = totals.map(SavedValues.clamp)
            products[product] = state
        }
    }
}
