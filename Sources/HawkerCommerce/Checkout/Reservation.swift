/// Stock held for an accepted checkout, until its orders are confirmed or fail.
public struct Reservation: Sendable, Hashable {
    public struct Line: Sendable, Hashable {
        public var product: String
        public var variant: String?
        public var quantity: Int64
        /// The unit price charged: the sale price when a sale covered the product.
        public var unitPrice: Int64
        public var currency: String
        public var merchant: String
        /// The sale whose limits this line counts against.
        public var sale: String?
    }

    public var checkoutID: String
    public var buyer: String
    public var lines: [Line]
    public var region: String
    public var attribution: CheckoutRequest.Attribution
    public var idempotencyKey: String
    public var createdAt: Int64

    /// The merchants of record of this cart, each to get only its own lines.
    public var merchants: [String] { Array(Set(lines.map(\.merchant))).sorted() }
}
