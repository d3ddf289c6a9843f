import HawkerProtocol

extension CommerceState {
    /// Which catalog products a checkout may buy.
    public enum BuyablePolicy: String, Sendable, Hashable {
        /// Only what the host shows now: pinned products and products on a running sale.
        case pinnedOrOnSale = "pinned_or_on_sale"
        case anyInCatalog = "any"
    }

    public static let maxCheckoutLines = CheckoutRequest.maxLines
    /// Buyers a sale with a per-buyer limit remembers; beyond, new buyers are refused.
    public static let maxBuyersPerSale = 100_000

    /// Checks `request` and, when every line passes, holds its stock at once: all lines
    /// or none, so concurrent checkouts can never oversell (they all run on the stream's
    /// loop, one after the other). The checks come in this order, each with its own
    /// reason: products (exist, buyable now), prices seen, region and currency (the
    /// products' and their merchants' `terms`), limits, the total shown (shipping and tax
    /// included), stock. Attribution never refuses a checkout: each line is credited to the first of
    /// `attribution`'s codes that applies to its merchant, or to none.
    public mutating func reserve(
        _ request: CheckoutRequest,
        buyer: String,
        checkoutID: String,
        policy: BuyablePolicy,
        attribution: AttributionCandidates = .empty,
        terms: (any MerchantTermsPolicy)? = nil,
        now: Int64
    ) throws(CheckoutRejection) -> Reservation {
        guard (1...Self.maxCheckoutLines).contains(request.lines.count) else {
            throw CheckoutRejection(.invalidCheckout, "a checkout has 1 to \(Self.maxCheckoutLines) lines")
        }
        guard Set(request.lines.map { "\($0.product)|\($0.variant ?? "")" }).count == request.lines.count else {
            throw CheckoutRejection(.invalidCheckout, "each product and variant appears once per checkout; use the quantity")
        }

        // 1. The products exist and may be bought now.
        var planned: [(line: CheckoutRequest.Line, product: Product, sale: FlashSale?)] = []
        for line in request.lines {
            guard (1...CheckoutRequest.maxQuantity).contains(line.quantity) else {
                throw CheckoutRejection(.invalidCheckout, product: line.product, "quantities are 1 to \(CheckoutRequest.maxQuantity)")
            }
            guard let product = catalog[line.product] else {
                throw CheckoutRejection(.unknownProduct, product: line.product, "no product '\(line.product)' in this stream's catalog")
            }
            if let variant = line.variant, product.variant(variant) == nil {
                throw CheckoutRejection(.unknownVariant, product: line.product, "product '\(line.product)' has no variant '\(variant)'")
            }
            if line.variant == nil, keepsStockPerVariant(product) {
                throw CheckoutRejection(.unknownVariant, product: line.product, "choose a variant of '\(product.title)': its stock is kept per variant")
            }
            let sale = activeSale(for: product.id)
            if policy == .pinnedOrOnSale, sale == nil, !pinned.contains(product.id) {
                throw CheckoutRejection(.notBuyable, product: product.id, "'\(product.title)' is not on offer right now")
            }
            planned.append((line, product, sale))
        }
        // 2. The viewer saw the price it would pay.
        for (line, product, sale) in planned {
            let price = Self.unitPrice(product, variant: line.variant, sale: sale)
            guard line.priceSeen == price else {
                throw CheckoutRejection(.priceChanged, product: product.id, currentPrice: price, "the price of '\(product.title)' is now \(price)")
            }
        }
        // 3. It ships there (the products and their merchants), in their merchants' currency.
        let charges = try Self.charges(
            for: planned.map { line, product, sale in
                // Within Int64 (at most 1,000 × (2^53 − 1)); `charges` refuses past 2^53 − 1.
                PricedLine(product: product, amount: Self.unitPrice(product, variant: line.variant, sale: sale).multipliedReportingOverflow(by: line.quantity).partialValue)
            }, to: request.shipTo, terms: terms)
        // 4. Sale limits, total and per buyer.
        var perSale: [String: Int64] = [:]
        for (line, _, sale) in planned {
            if let sale { perSale[sale.id, default: 0] += line.quantity }
        }
        for (id, quantity) in perSale.sorted(by: { $0.key < $1.key }) {
            guard let sale = sales[id] else { continue }
            if let total = sale.totalLimit, sale.sold + quantity > total {
                throw CheckoutRejection(.limitReached, available: max(0, total - sale.sold), "the sale has \(max(0, total - sale.sold)) units left at its price")
            }
            if let perBuyer = sale.perBuyerLimit {
                let bought = sale.boughtByBuyer[buyer] ?? 0
                guard bought + quantity <= perBuyer else {
                    throw CheckoutRejection(.limitReached, available: max(0, perBuyer - bought), "at most \(perBuyer) per buyer in this sale")
                }
                guard bought > 0 || sale.boughtByBuyer.count < Self.maxBuyersPerSale else {
                    throw CheckoutRejection(.limitReached, available: 0, "this sale has reached the number of buyers it can track")
                }
            }
        }
        var reservation = Reservation(
            checkoutID: checkoutID,
            buyer: buyer,
            lines: planned.map { line, product, sale in
                Reservation.Line(
                    product: product.id, variant: line.variant, quantity: line.quantity,
                    unitPrice: Self.unitPrice(product, variant: line.variant, sale: sale), currency: product.currency,
                    merchant: product.merchant, sale: sale?.id, supplier: terms?.supplier(of: product.id, merchant: product.merchant)
                )
            },
            region: request.region,
            shipTo: request.shipTo,
            charges: charges,
            attribution: request.attribution,
            idempotencyKey: request.idempotencyKey,
            createdAt: now
        )
        Self.credit(&reservation, attribution)
        // A supplier's shipment states what it is owed: within 2^53 − 1 too.
        guard reservation.lines.supplierCosts != nil else {
            throw CheckoutRejection(.invalidCheckout, "what the cart's suppliers are owed is larger than \(JSONValue.maxSafeInteger) minor units")
        }
        // 5. What the buyer pays, shipping and tax included, is what they were shown: the
        // totals they saw, or (a client from before quotes) the sum of their lines.
        guard let totals = reservation.totals, let shown = request.totalsSeen ?? reservation.lines.subtotals.map(Self.byCurrency) else {
            throw CheckoutRejection(.invalidCheckout, "the cart's total is larger than \(JSONValue.maxSafeInteger) minor units")
        }
        guard Self.byCurrency(totals) == shown else {
            let figures = totals.map { "\($0.amount) \($0.currency)" }.joined(separator: " + ")
            throw CheckoutRejection(.totalChanged, charges: charges, "with shipping and tax to \(request.shipTo.region) the cart costs \(figures)")
        }
        // 6. Stock, per merchant product over all its lines, taken at once where it lives
        // (shared with every stream that shows the product).
        try stock.reserve(checkoutID, planned.map { Inventory.Units(sku: $0.product.sku(variant: $0.line.variant), quantity: $0.line.quantity) })

        // Everything passed: the sale counts, and the stock shown here.
        for (id, quantity) in perSale {
            sales[id]?.sold += quantity
            if sales[id]?.perBuyerLimit != nil { sales[id]?.boughtByBuyer[buyer, default: 0] += quantity }
        }
        return reservation
    }

    /// Credits each line to the first candidate that applies to its merchant, with the
    /// commission on the line's amount. `declined` is the first of the buyer's claims, the
    /// entered code before the referral, that was refused: as the directory refused it, or
    /// `not_for_products` when it applies to none of the cart's merchants.
    static func credit(_ reservation: inout Reservation, _ attribution: AttributionCandidates) {
        for index in reservation.lines.indices {
            let line = reservation.lines[index]
            guard let credit = attribution.credits.first(where: { $0.applies(to: line.merchant) }) else { continue }
            reservation.lines[index].credit = LineCredit(
                code: credit.code, influencer: credit.influencer, commission: credit.commission(on: line.amount), source: credit.source)
        }
        func declined(_ source: AttributionCredit.Source, refused: AttributionDeclined?) -> AttributionDeclined? {
            guard let candidate = attribution.credits.first(where: { $0.source == source }) else { return refused }
            // One that fits a line but was outranked there (the entered code over the
            // referral) is no refusal: the buyer's choice came first.
            let fits = reservation.lines.contains { candidate.applies(to: $0.merchant) }
            return fits ? nil : AttributionDeclined(code: candidate.code, reason: .notForProducts)
        }
        reservation.declined = declined(.code, refused: attribution.declinedCode) ?? declined(.referral, refused: attribution.declinedReferral)
    }

    /// Gives back the sale counts `reservation` took (its orders failed, or it could not
    /// be recorded), for sales still running; the stock source gives back its units.
    /// Returns the `stock.changed` events due for the levels shown here.
    public mutating func release(_ reservation: Reservation) -> [EventDraft] {
        for line in reservation.lines {
            if let id = line.sale, var sale = sales[id] {
                sale.sold = max(0, sale.sold - line.quantity)
                if let bought = sale.boughtByBuyer[reservation.buyer] {
                    sale.boughtByBuyer[reservation.buyer] = bought > line.quantity ? bought - line.quantity : nil
                }
                sales[id] = sale
            }
        }
        return refreshStock(of: reservation.lines.map(\.product))
    }

    /// Counts again the sale units of a checkout accepted before a restart but after the
    /// room was last saved, for sales still here (limits hold across the restart).
    mutating func recount(_ reservation: Reservation) {
        for line in reservation.lines {
            guard let id = line.sale, var sale = sales[id] else { continue }
            sale.sold = min(sale.sold + line.quantity, JSONValue.maxSafeInteger)
            if sale.perBuyerLimit != nil { sale.boughtByBuyer[reservation.buyer, default: 0] += line.quantity }
            sales[id] = sale
        }
    }

    /// The `stock.changed` events due for `products` (each once, in order of id).
    public mutating func refreshStock(of products: [String]) -> [EventDraft] {
        Set(products).sorted().flatMap { refreshStock(of: $0) }
    }

    static func byCurrency(_ totals: [(currency: String, amount: Int64)]) -> [String: Int64] {
        Dictionary(totals.map { ($0.currency, $0.amount) }, uniquingKeysWith: +)
    }

    /// What one unit costs now: the sale price, else the variant's, else the product's.
    static func unitPrice(_ product: Product, variant: String?, sale: FlashSale?) -> Int64 {
        if let item = sale?.item(for: product.id) { return item.price }
        if let variant, let price = product.variant(variant)?.price { return price }
        return product.price
    }

    /// A `stock.changed` for `product` (or one of its variants) as the server publishes
    /// it when a level moved, so every viewer's stock bar moves.
    public func stockEvent(for product: String, variant: String?) -> EventDraft? {
        stockData(product, variant: variant).map { EventDraft(serverMade: .stockChanged, data: $0) }
    }

    /// The data of a `stock.changed` for the level shown now: for a variant, its level
    /// and flags, with the product's level (`product_level`) when it has one.
    func stockData(_ product: String, variant: String?) -> [String: JSONValue]? {
        guard let item = catalog[product] else { return nil }
        let level: Int64
        var data: [String: JSONValue] = ["product": .string(product), "low_stock_threshold": .int(item.lowStockThreshold)]
        if let variant {
            guard let stock = item.variant(variant)?.stock else { return nil }
            level = stock
            data["variant"] = .string(variant)
            if let total = item.stock { data["product_level"] = .int(total) }
        } else {
            guard let stock = item.stock else { return nil }
            level = stock
        }
        data["level"] = .int(level)
        data["low_stock"] = .bool(level > 0 && level <= item.lowStockThreshold)
        data["sold_out"] = .bool(level == 0)
        return data
    }
}
