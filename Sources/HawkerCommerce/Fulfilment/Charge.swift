import HawkerProtocol

/// One merchant's part of a cart in one currency: what its goods cost, shipping, tax and
/// the total the buyer pays for it, all in minor units. Tax is rounded half up once per
/// part, not per line.
public struct Charge: Sendable, Hashable {
    public var merchant: String
    public var currency: String
    public var subtotal: Int64
    public var shipping: Int64
    public var tax: Int64
    /// True: `tax` is the part of `subtotal + shipping` that is tax (total = subtotal + shipping).
    /// False: `tax` is added (total = subtotal + shipping + tax).
    public var taxIncluded: Bool
    public var total: Int64
    /// The zone that priced it, if the merchant has terms.
    public var zone: String?

    public init(merchant: String, currency: String, subtotal: Int64, shipping: Int64, tax: Int64, taxIncluded: Bool, total: Int64, zone: String?) {
        self.merchant = merchant
        self.currency = currency
        self.subtotal = subtotal
        self.shipping = shipping
        self.tax = tax
        self.taxIncluded = taxIncluded
        self.total = total
        self.zone = zone
    }

    /// Prices `subtotal` under `zone` (none: no shipping, no tax); nil when an amount
    /// would pass 2^53 − 1.
    public static func pricing(
        merchant: String, currency: String, subtotal: Int64, zone: ShippingZone?, pricesIncludeTax: Bool
    ) -> Charge? {
        let shipping = zone?.shipping(forSubtotal: subtotal) ?? 0
        let basisPoints = zone?.taxBasisPoints ?? 0
        let (base, overflow) = subtotal.addingReportingOverflow(shipping)
        guard !overflow, (0...JSONValue.maxSafeInteger).contains(base) else { return nil }
        let tax: Int64
        let total: Int64
        if pricesIncludeTax {
            // The net is base × 10000 / (10000 + rate); the tax is what is left.
            tax = base - scaled(base, by: ShippingZone.maxTaxBasisPoints, over: ShippingZone.maxTaxBasisPoints + basisPoints)
            total = base
        } else {
            tax = scaled(base, by: basisPoints, over: ShippingZone.maxTaxBasisPoints)
            total = base + tax
        }
        guard total <= JSONValue.maxSafeInteger else { return nil }
        return Charge(
            merchant: merchant, currency: currency, subtotal: subtotal, shipping: shipping, tax: tax, taxIncluded: pricesIncludeTax, total: total,
            zone: zone?.name)
    }

    /// amount × numerator / denominator rounded half up, split so that nothing passes
    /// Int64 for amounts up to 2^53 − 1 (numerator ≤ denominator ≤ 20,000).
    static func scaled(_ amount: Int64, by numerator: Int64, over denominator: Int64) -> Int64 {
        let whole = amount / denominator
        let rest = amount % denominator
        return whole * numerator + (rest * numerator + denominator / 2) / denominator
    }
}

extension [Charge] {
    /// What the buyer pays per currency, sorted by currency; nil past 2^53 − 1.
    public var totals: [(currency: String, amount: Int64)]? {
        var totals: [String: Int64] = [:]
        for charge in self {
            let (sum, overflow) = totals[charge.currency, default: 0].addingReportingOverflow(charge.total)
            guard !overflow, sum <= JSONValue.maxSafeInteger else { return nil }
            totals[charge.currency] = sum
        }
        return totals.sorted { $0.key < $1.key }.map { (currency: $0.key, amount: $0.value) }
    }
}

/// Totals per currency as clients read them: `[{currency, amount}]`.
public func totalsJSON(_ totals: [(currency: String, amount: Int64)]) -> JSONValue {
    .array(totals.map { ["currency": .string($0.currency), "amount": .int($0.amount)] })
}
