/// A merchant's product: what stock belongs to. The same product shown in several streams
/// is one SKU with one stock level.
public struct SKU: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var merchant: String
    public var product: String

    public init(merchant: String, product: String) {
        self.merchant = merchant
        self.product = product
    }

    public static func < (lhs: SKU, rhs: SKU) -> Bool { (lhs.merchant, lhs.product) < (rhs.merchant, rhs.product) }

    public var description: String { "\(merchant)/\(product)" }
}
