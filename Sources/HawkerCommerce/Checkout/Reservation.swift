import HawkerProtocol

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
        /// The influencer's code credited with this line and its commission, if any.
        public var credit: LineCredit?
        /// Who ships it for `merchant` and at what unit price (dropship), as the catalog
        /// said when it was bought.
        public var supplier: Supplier?

        public init(
            product: String, variant: String?, quantity: Int64, unitPrice: Int64, currency: String, merchant: String, sale: String?,
            credit: LineCredit? = nil, supplier: Supplier? = nil
        ) {
            self.product = product
            self.variant = variant
            self.quantity = quantity
            self.unitPrice = unitPrice
            self.currency = currency
            self.merchant = merchant
            self.sale = sale
            self.credit = credit
            self.supplier = supplier
        }

        /// What the line costs: unit price × quantity (checked when reserved).
        public var amount: Int64 {
            let (amount, overflow) = unitPrice.multipliedReportingOverflow(by: quantity)
            return overflow ? .max : amount
        }
    }

    public var checkoutID: String
    public var buyer: String
    public var lines: [Line]
    /// "DE", "DE-BE": the short form of `shipTo`.
    public var region: String
    /// Where it ships; nil in checkouts stored before destinations were structured.
    public var shipTo: Destination?
    /// Each merchant's part: goods, shipping, tax and total (empty in checkouts stored
    /// before quotes: their lines' sum was the total).
    public var charges: [Charge]
    /// What the buyer's client said about attribution (a claim; what was credited is on
    /// the lines).
    public var attribution: CheckoutRequest.Attribution
    /// Why the code the buyer brought was not credited, if it was not.
    public var declined: AttributionDeclined?
    public var idempotencyKey: String
    public var createdAt: Int64

    public init(
        checkoutID: String, buyer: String, lines: [Line], region: String, shipTo: Destination? = nil, charges: [Charge] = [],
        attribution: CheckoutRequest.Attribution, declined: AttributionDeclined? = nil, idempotencyKey: String, createdAt: Int64
    ) {
        self.checkoutID = checkoutID
        self.buyer = buyer
        self.lines = lines
        self.region = region
        self.shipTo = shipTo
        self.charges = charges
        self.attribution = attribution
        self.declined = declined
        self.idempotencyKey = idempotencyKey
        self.createdAt = createdAt
    }

    /// The codes credited with some line, in order of first line.
    public var creditedCodes: [String] { lines.creditedCodes }

    /// The merchants of record of this cart, each to get only its own lines.
    public var merchants: [String] { Array(Set(lines.map(\.merchant))).sorted() }

    /// Who gets a part of this cart: each seller its sale, and each of a seller's
    /// suppliers the shipment of that seller's units it ships, sorted.
    public var parties: [Party] {
        var parties = Set(lines.map { Party(merchant: $0.merchant, seller: $0.merchant) })
        for line in lines {
            if let supplier = line.supplier { parties.insert(Party(merchant: supplier.merchant, seller: line.merchant)) }
        }
        return parties.sorted()
    }

    /// What the buyer pays, per currency (shipping and tax included), sorted by currency;
    /// nil when an amount would pass 2^53 − 1 (such a checkout is refused before anything
    /// is reserved).
    public var totals: [(currency: String, amount: Int64)]? {
        charges.isEmpty ? lines.subtotals : charges.totals
    }

    /// `merchant`'s part, if the checkout has charges.
    public func charge(of merchant: String) -> [Charge] { charges.filter { $0.merchant == merchant } }
}

extension [Reservation.Line] {
    /// The lines' amounts summed per currency, sorted by currency; nil past 2^53 − 1.
    public var subtotals: [(currency: String, amount: Int64)]? {
        var totals: [String: Int64] = [:]
        for line in self {
            let (amount, overflow) = line.unitPrice.multipliedReportingOverflow(by: line.quantity)
            let (sum, sumOverflow) = totals[line.currency, default: 0].addingReportingOverflow(amount)
            guard !overflow, !sumOverflow, (0...JSONValue.maxSafeInteger).contains(sum) else { return nil }
            totals[line.currency] = sum
        }
        return totals.sorted { $0.key < $1.key }.map { (currency: $0.key, amount: $0.value) }
    }

    /// What the suppliers of these lines are owed for them (supplier price × quantity),
    /// summed per currency and sorted by currency; nil past 2^53 − 1.
    public var supplierCosts: [(currency: String, amount: Int64)]? {
        var totals: [String: Int64] = [:]
        for line in self {
            guard let supplier = line.supplier else { continue }
            let (amount, overflow) = supplier.price.multipliedReportingOverflow(by: line.quantity)
            let (sum, sumOverflow) = totals[line.currency, default: 0].addingReportingOverflow(amount)
            guard !overflow, !sumOverflow, (0...JSONValue.maxSafeInteger).contains(sum) else { return nil }
            totals[line.currency] = sum
        }
        return totals.sorted { $0.key < $1.key }.map { (currency: $0.key, amount: $0.value) }
    }

    /// The codes credited with some of these lines, in order of first line.
    public var creditedCodes: [String] {
        var seen: Set<String> = []
        return compactMap { $0.credit?.code }.filter { seen.insert($0).inserted }
    }
}
