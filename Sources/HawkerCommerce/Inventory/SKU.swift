/// A merchant's product, or one variant of it: what stock belongs to. The same product
/// shown in several streams is one SKU with one stock level. A product's stock is kept
/// for the product (`variant` nil) or per variant; a variant with no level of its own
/// takes from the product's.
public struct SKU: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var merchant: String
    public var product: String
    public var variant: String?

    public init(merchant: String, product: String, variant: String? = nil) {
        self.merchant = merchant
        self.product = product
        self.variant = variant
    }

    /// The product this SKU belongs to (itself when it is the product's).
    public var productSKU: SKU { SKU(merchant: merchant, product: product) }

    public static func < (lhs: SKU, rhs: SKU) -> Bool {
        (lhs.merchant, lhs.product, lhs.variant ?? "") < (rhs.merchant, rhs.product, rhs.variant ?? "")
    }

    public var description: String { variant.map { "\(merchant)/\(product)/\($0)" } ?? "\(merchant)/\(product)" }
}
