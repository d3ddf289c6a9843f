extension IntentAggregator {
    /// What the host sees for one product.
    ///
    /// Two distinct-user figures, because the host asks "how many people are adding to cart"
    /// while "how many people are interested" counts any action: `distinctUsers*` counts users
    /// with any action on the product, `cartUsers*` only users who added to cart.
    public struct ProductSummary: Sendable, Hashable {
        public struct ActionCounts: Sendable, Hashable {
            public var count1m: Int
            public var count5m: Int
            /// Since the stream started.
            public var total: Int

            public init(count1m: Int = 0, count5m: Int = 0, total: Int = 0) {
                self.count1m = count1m
                self.count5m = count5m
                self.total = total
            }
        }

        public var product: String
        public var actions: [IntentAction: ActionCounts]
        public var distinctUsers1m: Int
        public var distinctUsers5m: Int
        public var cartUsers1m: Int
        public var cartUsers5m: Int
        /// True while users refused by `maxTrackedUsersPerProduct` could still be in a window,
        /// i.e. the distinct counts may be too low.
        public var distinctCountsAreLowerBounds: Bool

        public init(
            product: String, actions: [IntentAction: ActionCounts],
            distinctUsers1m: Int, distinctUsers5m: Int,
            cartUsers1m: Int, cartUsers5m: Int,
            distinctCountsAreLowerBounds: Bool = false
        ) {
            self.product = product
            self.actions = actions
            self.distinctUsers1m = distinctUsers1m
            self.distinctUsers5m = distinctUsers5m
            self.cartUsers1m = cartUsers1m
            self.cartUsers5m = cartUsers5m
            self.distinctCountsAreLowerBounds = distinctCountsAreLowerBounds
        }

        public subscript(action: IntentAction) -> ActionCounts {
            actions[action] ?? ActionCounts()
        }
    }
}
