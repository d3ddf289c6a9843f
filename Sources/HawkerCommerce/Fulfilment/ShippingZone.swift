import HawkerProtocol

/// Where a merchant ships, at what cost and with which tax: the first of its zones whose
/// regions cover a buyer's destination applies to the merchant's part of the cart.
public struct ShippingZone: Sendable, Hashable {
    /// For people: "Germany", "EU", "Berlin same day".
    public var name: String
    public var regions: [RegionRule]
    /// Shipping for the merchant's part of one cart, in the merchant's currency.
    public var shipping: Int64
    /// A part whose goods cost at least this much ships free.
    public var freeShippingFrom: Int64?
    /// The tax rate in basis points (1900 = 19 %) on goods and shipping.
    public var taxBasisPoints: Int64

    public static let maxRegions = 100
    public static let maxTaxBasisPoints: Int64 = 10_000

    public init(name: String, regions: [RegionRule], shipping: Int64 = 0, freeShippingFrom: Int64? = nil, taxBasisPoints: Int64 = 0) {
        self.name = name
        self.regions = regions
        self.shipping = shipping
        self.freeShippingFrom = freeShippingFrom
        self.taxBasisPoints = taxBasisPoints
    }

    /// Shipping for a part whose goods cost `subtotal`.
    public func shipping(forSubtotal subtotal: Int64) -> Int64 {
        if let freeShippingFrom, subtotal >= freeShippingFrom { return 0 }
        return shipping
    }
}
