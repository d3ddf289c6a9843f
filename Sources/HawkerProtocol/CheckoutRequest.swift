/// A viewer's checkout: the lines of a cart as the viewer saw them, where it ships, who
/// gets the credit, and the key that makes a retry return the first answer.
public struct CheckoutRequest: Sendable, Hashable {
    public struct Line: Sendable, Hashable {
        public var product: String
        public var variant: String?
        public var quantity: Int64
        /// The unit price the viewer was shown: a checkout at a price that changed since
        /// is refused rather than charged differently.
        public var priceSeen: Int64

        public init(product: String, variant: String?, quantity: Int64, priceSeen: Int64) {
            self.product = product
            self.variant = variant
            self.quantity = quantity
            self.priceSeen = priceSeen
        }
    }

    /// The buyer's side of attribution: claims the server checks against its registered
    /// codes before crediting anything.
    public struct Attribution: Sendable, Hashable {
        /// A code the buyer entered.
        public var code: String?
        /// Where the buyer came from: a stream, a referring page (kept, not credited).
        public var stream: String?
        public var referrer: String?
        /// The ticket of a `referral`: the buyer arrived through a code's link.
        public var referral: String?

        public init(code: String? = nil, stream: String? = nil, referrer: String? = nil, referral: String? = nil) {
            self.code = code
            self.stream = stream
            self.referrer = referrer
            self.referral = referral
        }
    }

    public static let maxLines = 20
    /// Units of one line.
    public static let maxQuantity: Int64 = 1_000

    /// Currencies a cart's `totals_seen` may name.
    public static let maxCurrencies = maxLines

    public var lines: [Line]
    /// Where it ships (`ship_to`, or the short `region` "DE" / "DE-BE").
    public var shipTo: Destination
    public var attribution: Attribution
    /// What the buyer was shown to pay per currency, shipping and tax included: a
    /// checkout that would charge otherwise is refused with the new figures. nil (a
    /// client from before quotes): the sum of the lines' `price_seen` is what was shown.
    public var totalsSeen: [String: Int64]?
    public var idempotencyKey: String

    public init(lines: [Line], shipTo: Destination, attribution: Attribution = Attribution(), totalsSeen: [String: Int64]? = nil, idempotencyKey: String) {
        self.lines = lines
        self.shipTo = shipTo
        self.attribution = attribution
        self.totalsSeen = totalsSeen
        self.idempotencyKey = idempotencyKey
    }

    /// The short form of where it ships, as orders keep it ("DE", "DE-BE").
    public var region: String { shipTo.region }
}
