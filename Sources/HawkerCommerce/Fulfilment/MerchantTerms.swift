import HawkerProtocol

/// What a merchant charges on top of its products' prices, and where it ships: its zones
/// (the first that covers the destination applies), their currency, and whether prices
/// include tax (as in the EU) or tax is added (as in the US).
///
/// A merchant without zones ships wherever its products do, free, with prices taken as
/// they are: a cart's total is then the sum of its lines.
public struct MerchantTerms: Sendable, Hashable {
    /// The currency of the zones' amounts: the merchant's products must be priced in it.
    public var currency: String
    /// True: prices include tax, which the quote shows as the part of the total it is.
    /// False: tax is added to goods and shipping.
    public var pricesIncludeTax: Bool
    public var zones: [ShippingZone]

    public static let maxZones = 50

    public init(currency: String, pricesIncludeTax: Bool, zones: [ShippingZone]) {
        self.currency = currency
        self.pricesIncludeTax = pricesIncludeTax
        self.zones = zones
    }

    /// The zone covering `destination`: nil when the merchant does not ship there.
    public func zone(for destination: Destination) -> ShippingZone? {
        zones.first { $0.regions.contains { $0.matches(destination) } }
    }
}

/// Where rooms read merchants' terms: the gateway's merchant directory. Called on the
/// stream's loop for every checkout and quote, so it answers from memory.
public protocol MerchantTermsPolicy: Sendable {
    /// nil: the merchant has no terms (ships wherever its products do, no shipping or tax).
    func terms(for merchant: String) -> MerchantTerms?
    /// Moves whenever any merchant's terms change: what was worked out from them before
    /// (which products ship where) is stale.
    var revision: Int64 { get }
    /// Who ships `product` for `merchant` (dropship), as the merchant registered it; nil
    /// when the merchant ships it itself.
    func supplier(of product: String, merchant: String) -> Supplier?
}

extension MerchantTermsPolicy {
    /// Terms that never change.
    public var revision: Int64 { 0 }

    /// Merchants that ship everything themselves.
    public func supplier(of product: String, merchant: String) -> Supplier? { nil }
}
