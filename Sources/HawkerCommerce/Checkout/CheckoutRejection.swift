/// Why a checkout was refused, checked in this order: the product (exists, buyable now),
/// the price the viewer saw, the region (and the merchant's currency), the limits, the
/// total with shipping and tax, the stock. Each reason is specific
/// so that a viewer page can say what to do.
public struct CheckoutRejection: Error, Sendable, Hashable {
    public enum Reason: String, Sendable, Hashable {
        case unknownProduct = "unknown_product"
        case unknownVariant = "unknown_variant"
        /// In the catalog but neither pinned nor on sale (when the policy asks for that).
        case notBuyable = "not_buyable"
        case priceChanged = "price_changed"
        case regionNotServed = "region_not_served"
        /// A merchant's product priced in another currency than its terms.
        case currencyMismatch = "currency_mismatch"
        /// With shipping and tax, the cart costs other than the buyer was shown.
        case totalChanged = "total_changed"
        case limitReached = "limit_reached"
        case soldOut = "sold_out"
        case insufficientStock = "insufficient_stock"
        case invalidCheckout = "invalid_checkout"
    }

    public var reason: Reason
    public var product: String?
    /// For `price_changed`: the price now.
    public var currentPrice: Int64?
    /// For `insufficient_stock` and `limit_reached`: how many may still be bought.
    public var available: Int64?
    /// For `total_changed`: what each merchant's part costs now.
    public var charges: [Charge]?
    public var message: String

    public init(
        _ reason: Reason, product: String? = nil, currentPrice: Int64? = nil, available: Int64? = nil, charges: [Charge]? = nil, _ message: String
    ) {
        self.reason = reason
        self.product = product
        self.currentPrice = currentPrice
        self.available = available
        self.charges = charges
        self.message = message
    }
}
