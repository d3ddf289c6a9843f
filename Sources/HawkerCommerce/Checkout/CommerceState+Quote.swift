import HawkerProtocol

extension CommerceState {
    /// A priced line: what `charges` needs of it.
    struct PricedLine {
        var product: Product
        var amount: Int64
    }

    /// What `request`'s cart costs at today's prices delivered to its destination, and
    /// which catalog products do not ship there. Refused as a checkout would be for an
    /// unknown product or variant, a destination not served, a currency its merchant does
    /// not sell in, or a total past 2^53 − 1; stock, limits and what is on offer are the
    /// checkout's to check.
    /// `notShipping`: the catalog's products that do not ship there, when the caller has
    /// them from an earlier quote (nothing changed since); else they are worked out.
    public func quote(_ request: QuoteRequest, terms: (any MerchantTermsPolicy)?, notShipping: [String]? = nil) throws(CheckoutRejection) -> Quote {
        guard request.lines.count <= Self.maxCheckoutLines else {
            throw CheckoutRejection(.invalidCheckout, "a quote has at most \(Self.maxCheckoutLines) lines")
        }
        var lines: [PricedLine] = []
        for line in request.lines {
            guard let product = catalog[line.product] else {
                throw CheckoutRejection(.unknownProduct, product: line.product, "no product '\(line.product)' in this stream's catalog")
            }
            if let variant = line.variant, product.variant(variant) == nil {
                throw CheckoutRejection(.unknownVariant, product: line.product, "product '\(line.product)' has no variant '\(variant)'")
            }
            let price = Self.unitPrice(product, variant: line.variant, sale: activeSale(for: product.id))
            let (amount, overflow) = price.multipliedReportingOverflow(by: line.quantity)
            guard !overflow, amount <= JSONValue.maxSafeInteger else {
                throw CheckoutRejection(.invalidCheckout, "the cart's total is larger than \(JSONValue.maxSafeInteger) minor units")
            }
            lines.append(PricedLine(product: product, amount: amount))
        }
        let charges = try Self.charges(for: lines, to: request.shipTo, terms: terms)
        return Quote(shipTo: request.shipTo, charges: charges, notShipping: notShipping ?? self.notShipping(to: request.shipTo, terms: terms))
    }

    /// The catalog's products that do not ship to `destination` (their regions, or their
    /// merchant's zones), sorted.
    public func notShipping(to destination: Destination, terms: (any MerchantTermsPolicy)?) -> [String] {
        // Each merchant's zones are matched once per call, not once per product.
        var merchantShips: [String: Bool] = [:]
        return catalog.all.filter { product in
            if !product.ships(to: destination) { return true }
            if let ships = merchantShips[product.merchant] { return !ships }
            let ships = terms?.terms(for: product.merchant).map { $0.zones.isEmpty || $0.zone(for: destination) != nil } ?? true
            merchantShips[product.merchant] = ships
            return !ships
        }.map(\.id).sorted()
    }

    /// Each merchant's part of a cart delivered to `destination`, sorted by merchant and
    /// currency: refused when a product or its merchant does not ship there, a product's
    /// currency is not its merchant's, or an amount would pass 2^53 − 1.
    static func charges(for lines: [PricedLine], to destination: Destination, terms: (any MerchantTermsPolicy)?) throws(CheckoutRejection) -> [Charge] {
        for line in lines where !line.product.ships(to: destination) {
            throw CheckoutRejection(.regionNotServed, product: line.product.id, "'\(line.product.title)' does not ship to \(destination.region)")
        }
        var parts: [String: [PricedLine]] = [:]
        for line in lines { parts[line.product.merchant, default: []].append(line) }
        var charges: [Charge] = []
        for (merchant, lines) in parts.sorted(by: { $0.key < $1.key }) {
            var subtotals: [String: Int64] = [:]
            for line in lines {
                let (sum, overflow) = subtotals[line.product.currency, default: 0].addingReportingOverflow(line.amount)
                guard !overflow, sum <= JSONValue.maxSafeInteger else {
                    throw CheckoutRejection(.invalidCheckout, "the cart's total is larger than \(JSONValue.maxSafeInteger) minor units")
                }
                subtotals[line.product.currency] = sum
            }
            var zone: ShippingZone?
            let merchantTerms = terms?.terms(for: merchant)
            if let merchantTerms {
                if let other = lines.first(where: { $0.product.currency != merchantTerms.currency }) {
                    throw CheckoutRejection(
                        .currencyMismatch, product: other.product.id,
                        "'\(other.product.title)' is priced in \(other.product.currency) but its merchant sells in \(merchantTerms.currency)")
                }
                if !merchantTerms.zones.isEmpty {
                    zone = merchantTerms.zone(for: destination)
                    guard zone != nil else {
                        throw CheckoutRejection(
                            .regionNotServed, product: lines[0].product.id, "'\(lines[0].product.title)' does not ship to \(destination.region) (its merchant's zones)")
                    }
                }
            }
            for (currency, subtotal) in subtotals.sorted(by: { $0.key < $1.key }) {
                guard
                    let charge = Charge.pricing(
                        merchant: merchant, currency: currency, subtotal: subtotal, zone: zone, pricesIncludeTax: merchantTerms?.pricesIncludeTax ?? true)
                else {
                    throw CheckoutRejection(.invalidCheckout, "the cart's total is larger than \(JSONValue.maxSafeInteger) minor units")
                }
                charges.append(charge)
            }
        }
        guard charges.totals != nil else {
            throw CheckoutRejection(.invalidCheckout, "the cart's total is larger than \(JSONValue.maxSafeInteger) minor units")
        }
        return charges
    }
}
