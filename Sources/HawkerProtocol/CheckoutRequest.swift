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

    /// Regions are postcodes, region or country codes: 1-32 of `[A-Za-z0-9_-]`.
    public static func isValidRegion(_ region: String) -> Bool {
        let bytes = region.utf8
        return (1...32).contains(bytes.count)
            && bytes.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    public var lines: [Line]
    public var region: String
    public var attribution: Attribution
    public var idempotencyKey: String

    public init(lines: [Line], region: String, attribution: Attribution = Attribution(), idempotencyKey: String) {
        self.lines = lines
        self.region = region
        self.attribution = attribution
        self.idempotencyKey = idempotencyKey
    }
}
