/// A viewer asks what a cart would cost delivered to `shipTo`, and which of the stream's
/// products ship there: the figures a checkout then confirms with `totals_seen`.
public struct QuoteRequest: Sendable, Hashable {
    public struct Line: Sendable, Hashable {
        public var product: String
        public var variant: String?
        public var quantity: Int64

        public init(product: String, variant: String?, quantity: Int64) {
            self.product = product
            self.variant = variant
            self.quantity = quantity
        }
    }

    /// Empty: only which products ship there.
    public var lines: [Line]
    public var shipTo: Destination

    public init(lines: [Line], shipTo: Destination) {
        self.lines = lines
        self.shipTo = shipTo
    }
}
