import HawkerProtocol

/// A stream's typed state — catalog, pinned products, flash sales, on-air status and the
/// last announcement — and the rules a host's events must follow to change it.
///
/// `apply` checks an event against the state, changes the state and returns the event
/// completed with what the server knows (the previous price, the pinned list, a sale's
/// full definition), which is what viewers receive.
public struct CommerceState: Sendable {
    public struct Limits: Sendable, Hashable {
        public var maxProducts: Int
        public var maxPinned: Int
        public var maxSales: Int
        public var maxSaleDurationMilliseconds: Int64

        public init(maxProducts: Int = 200, maxPinned: Int = 3, maxSales: Int = 10, maxSaleDurationMilliseconds: Int64 = 86_400_000) {
            self.maxProducts = maxProducts
            self.maxPinned = maxPinned
            self.maxSales = maxSales
            self.maxSaleDurationMilliseconds = maxSaleDurationMilliseconds
        }
    }

    public enum OnAir: String, Sendable, Hashable, Codable {
        case idle
        case live
        case ended
    }

    public let limits: Limits
    /// Where stock levels live: shared with every stream showing the same merchant
    /// product (the gateway's ledger), or this state's own.
    public let stock: any StockSource
    public internal(set) var catalog: Catalog
    public internal(set) var pinned: [String] = []
    public internal(set) var sales: [String: FlashSale] = [:]
    public internal(set) var onAir = OnAir.idle
    public internal(set) var title: String?
    public internal(set) var playerURL: String?
    public internal(set) var startedAt: Int64?
    public internal(set) var endedAt: Int64?
    public internal(set) var announcement: (text: String, at: Int64)?

    public init(limits: Limits = Limits(), stock: any StockSource = LocalStock()) {
        self.limits = limits
        self.stock = stock
        self.catalog = Catalog(maxProducts: limits.maxProducts)
    }

    // MARK: - Events

    public mutating func apply(_ draft: EventDraft, now: Int64) throws(RoomError) -> EventDraft {
        var data = draft.data
        switch draft.kind {
        case .catalogSet:
            let products = Self.objects(data["products"]).map(Product.init(validated:))
            guard Set(products.map(\.id)).count == products.count else {
                throw RoomError(.invalidEvent, "catalog.set lists a product id twice")
            }
            guard products.count <= limits.maxProducts else {
                throw RoomError(.limitReached, "a catalog holds at most \(limits.maxProducts) products")
            }
            try Self.checkVariants(products)
            catalog.replaceAll(with: try products.map(takeStock))
            pinned.removeAll { catalog[$0] == nil }
            data["products"] = .array(Self.objects(data["products"]).map { Self.withStock($0, of: catalog[$0["id"]?.stringValue ?? ""]) })
        case .productUpsert:
            var product = Product(validated: data["product"]?.objectValue ?? [:])
            try Self.checkVariants([product])
            if let existing = catalog[product.id] {
                product.previousPrice = Self.previousPrice(old: existing.price, oldPrevious: existing.previousPrice, new: product.price)
            } else if catalog.isFull {
                throw RoomError(.limitReached, "the catalog is full (\(limits.maxProducts) products): remove one first")
            }
            product = try takeStock(product)
            catalog[product.id] = product
            data["product"] = Self.withStock(data["product"]?.objectValue ?? [:], of: product)
        case .productRemoved:
            let id = try product(in: data).id
            catalog[id] = nil
            pinned.removeAll { $0 == id }
            data["pinned"] = .array(pinned.map(JSONValue.string))
        case .productPinned:
            let id = try product(in: data).id
            if !pinned.contains(id) {
                guard pinned.count < limits.maxPinned else {
                    throw RoomError(.limitReached, "at most \(limits.maxPinned) products are pinned at once: unpin one first")
                }
                pinned.append(id)
            }
            data["pinned"] = .array(pinned.map(JSONValue.string))
        case .productUnpinned:
            let id = try product(in: data).id
            pinned.removeAll { $0 == id }
            data["pinned"] = .array(pinned.map(JSONValue.string))
        case .priceChanged:
            var product = try product(in: data)
            if let currency = data["currency"]?.stringValue, currency != product.currency {
                throw RoomError(.invalidEvent, "\(product.id) is priced in \(product.currency), not \(currency)")
            }
            let price = data["price"]?.intValue ?? product.price
            data["previous"] = .int(product.price)
            data["currency"] = .string(product.currency)
            data["drop"] = .bool(price < product.price)
            product.previousPrice = Self.previousPrice(old: product.price, oldPrevious: product.previousPrice, new: price)
            product.price = price
            catalog[product.id] = product
            // The struck-through price after this change, so the event alone is enough
            // even for a viewer that only got the latest of several changes.
            if let struck = product.previousPrice { data["previous_price"] = .int(struck) }
        case .stockChanged:
            var product = try product(in: data)
            let variant = data["variant"]?.stringValue
            if let variant, product.variant(variant) == nil {
                throw RoomError(.unknownVariant, "product '\(product.id)' has no variant '\(variant)'")
            }
            guard stock.hostMaySet(product.sku) else {
                throw RoomError(.forbidden, "merchant '\(product.merchant)' sets the stock of its products itself (its inventory API)")
            }
            if let level = data["level"]?.intValue, !stock.setAvailable(product.sku(variant: variant), to: level) {
                throw RoomError(.limitReached, "this gateway or this merchant tracks as many products' stock as it may (hub.max_skus_per_merchant)")
            }
            if let threshold = data["low_stock_threshold"]?.intValue { product.lowStockThreshold = threshold }
            catalog[product.id] = product
            // The host's event is this change's stock.changed: the levels shown follow
            // without another.
            _ = refreshStock(of: product.id)
            data = stockData(product.id, variant: variant) ?? data
        case .saleScheduled:
            let sale = try defineSale(data, startingNow: false, now: now)
            sales[sale.id] = sale
            data = sale.data
        case .saleStarted:
            let id = data["sale"]?.stringValue ?? ""
            var sale: FlashSale
            if data.count == 1 {
                guard let scheduled = sales[id] else {
                    throw RoomError(.unknownSale, "no scheduled sale '\(id)': schedule it first or send the whole definition")
                }
                guard scheduled.status == .scheduled else { throw RoomError(.invalidEvent, "sale \(id) is already running") }
                sale = scheduled.started(at: now)
            } else {
                sale = try defineSale(data, startingNow: true, now: now)
            }
            sales[sale.id] = sale
            data = sale.data
        case .saleEnded:
            let id = data["sale"]?.stringValue ?? ""
            guard let sale = sales.removeValue(forKey: id) else {
                throw RoomError(.unknownSale, "no scheduled or running sale '\(id)'")
            }
            data = Self.endData(sale, reason: "host", now: now)
        case .streamStarted:
            onAir = .live
            title = data["title"]?.stringValue ?? title
            playerURL = data["player_url"]?.stringValue ?? playerURL
            startedAt = now
            endedAt = nil
            data["started_at"] = .int(now)
        case .streamEnded:
            onAir = .ended
            endedAt = now
            data["ended_at"] = .int(now)
        case .announcement:
            announcement = (data["text"]?.stringValue ?? "", now)
        case .questionAnswered:
            break
        }
        return draft.withData(data)
    }

    /// Sale starts and ends that are due at `now`, as events to sequence, oldest first.
    public mutating func dueTransitions(now: Int64) -> [EventDraft] {
        var due: [EventDraft] = []
        for id in sales.keys.sorted() {
            guard var sale = sales[id] else { continue }
            if sale.status == .scheduled, sale.startsAt <= now {
                sale.status = .active
                sales[id] = sale
                due.append(Self.draft(.saleStarted, id: id, data: sale.data))
            }
            if sale.status == .active, sale.endsAt <= now {
                sales[id] = nil
                due.append(Self.draft(.saleEnded, id: id, data: Self.endData(sale, reason: "time", now: now)))
            }
        }
        return due
    }

    /// When the next sale starts or ends, if any: the owner sets a timer for it.
    public var nextTransition: Int64? {
        sales.values.map { $0.status == .scheduled ? $0.startsAt : $0.endsAt }.min()
    }

    public func activeSale(for product: String) -> FlashSale? {
        sales.values.filter { $0.status == .active && $0.item(for: product) != nil }.min { $0.id < $1.id }
    }

    // MARK: - State

    /// The typed state a joining viewer receives (without the room's live counters).
    public func json(now: Int64) -> [String: JSONValue] {
        var stream: [String: JSONValue] = ["status": .string(onAir.rawValue)]
        if let title { stream["title"] = .string(title) }
        if let playerURL { stream["player_url"] = .string(playerURL) }
        if let startedAt { stream["started_at"] = .int(startedAt) }
        if let endedAt { stream["ended_at"] = .int(endedAt) }
        var state: [String: JSONValue] = [
            "server_time": .int(now),
            "stream": .object(stream),
            "catalog": .array(catalog.all.map(\.json)),
            "pinned": .array(pinned.map(JSONValue.string)),
            "sales": .array(sales.values.sorted { ($0.startsAt, $0.id) < ($1.startsAt, $1.id) }.map { $0.json(now: now) }),
        ]
        if let announcement {
            state["announcement"] = ["text": .string(announcement.text), "ts": .int(announcement.at)]
        }
        return state
    }

    // MARK: - Helpers

    /// A listed product's stock: a level given (for the product or a variant) sets up
    /// the merchant product's level when it is not tracked yet (once it is,
    /// `stock.changed` changes it: a catalog sent again does not undo what other streams
    /// sold); the product shows the shared levels.
    private func takeStock(_ product: Product) throws(RoomError) -> Product {
        var product = product
        var given: [(SKU, Int64)] = product.stock.map { [(product.sku, $0)] } ?? []
        for variant in product.variants { if let level = variant.stock { given.append((product.sku(variant: variant.id), level)) } }
        // A merchant that sets its levels alone has the last word: a host's are ignored.
        for (sku, level) in given where stock.hostMaySet(sku) && stock.available(sku) == nil {
            guard stock.setAvailable(sku, to: level) else { throw RoomError(.limitReached, "this gateway or this merchant tracks as many products' stock as it may (hub.max_skus_per_merchant)") }
        }
        Self.showStock(of: &product, from: stock)
        return product
    }

    /// A host's product object with the levels it shows: the ones given, or the merchant
    /// product's levels set elsewhere.
    private static func withStock(_ object: [String: JSONValue], of product: Product?) -> JSONValue {
        var object = object
        guard let product else { return .object(object) }
        if let stock = product.stock { object["stock"] = .int(stock) }
        if case .array(let variants) = object["variants"] ?? .null {
            object["variants"] = .array(
                variants.map { entry in
                    guard var variant = entry.objectValue else { return entry }
                    if let stock = product.variant(variant["id"]?.stringValue ?? "")?.stock { variant["stock"] = .int(stock) }
                    return .object(variant)
                })
        }
        return .object(object)
    }

    /// The levels `product` shows: each variant's own level; the product's own level, or
    /// else, when every variant has one, their sum; no level (unlimited) otherwise.
    static func showStock(of product: inout Product, from stock: any StockSource) {
        for index in product.variants.indices {
            product.variants[index].stock = stock.available(product.sku(variant: product.variants[index].id))
        }
        if let level = stock.available(product.sku) {
            product.stock = level
        } else if !product.variants.isEmpty, product.variants.allSatisfy({ $0.stock != nil }) {
            product.stock = product.variants.reduce(into: Int64(0)) { total, variant in
                let (sum, overflow) = total.addingReportingOverflow(variant.stock ?? 0)
                total = overflow ? JSONValue.maxSafeInteger : min(sum, JSONValue.maxSafeInteger)
            }
        } else {
            product.stock = nil
        }
    }

    /// Whether the stock of `product` is kept per variant only: a line must then name one.
    func keepsStockPerVariant(_ product: Product) -> Bool {
        stock.available(product.sku) == nil && product.variants.contains { stock.available(product.sku(variant: $0.id)) != nil }
    }

    /// Shows the levels of `product` as the stock source has them now. Returns the
    /// `stock.changed` events due: one per variant whose level moved, else one for the
    /// product when its level moved.
    public mutating func refreshStock(of id: String) -> [EventDraft] {
        guard let before = catalog[id] else { return [] }
        var product = before
        Self.showStock(of: &product, from: stock)
        guard product != before else { return [] }
        catalog[id] = product
        let moved = zip(before.variants, product.variants).filter { $0.stock != $1.stock && $1.stock != nil }.map(\.1.id)
        if moved.isEmpty { return before.stock != product.stock ? stockEvent(for: id, variant: nil).map { [$0] } ?? [] : [] }
        return moved.compactMap { stockEvent(for: id, variant: $0) }
    }

    private func product(in data: [String: JSONValue]) throws(RoomError) -> Product {
        let id = data["product"]?.stringValue ?? ""
        guard let product = catalog[id] else {
            throw RoomError(.unknownProduct, "no product '\(id)' in this stream's catalog: add it with product.upsert or catalog.set")
        }
        return product
    }

    private func defineSale(_ data: [String: JSONValue], startingNow: Bool, now: Int64) throws(RoomError) -> FlashSale {
        let id = data["sale"]?.stringValue ?? ""
        if let existing = sales[id], existing.status == .active {
            throw RoomError(.invalidEvent, "sale \(id) is already running: end it first")
        }
        guard sales[id] != nil || sales.count < limits.maxSales else {
            throw RoomError(.limitReached, "at most \(limits.maxSales) sales are scheduled or running at once")
        }
        let entries = Self.objects(data["items"])
        guard !entries.isEmpty else { throw RoomError(.invalidEvent, "a sale needs 'items': [{product, price}]") }
        var items: [FlashSale.Item] = []
        for entry in entries {
            let product = try product(in: entry)
            let price = entry["price"]?.intValue ?? 0
            guard price <= product.price else {
                throw RoomError(.invalidEvent, "the sale price of \(product.id) is above its regular price \(product.price)")
            }
            guard !items.contains(where: { $0.product == product.id }) else {
                throw RoomError(.invalidEvent, "sale \(id) lists \(product.id) twice")
            }
            items.append(.init(product: product.id, price: price, currency: product.currency, regularPrice: product.price))
        }
        let startsAt: Int64
        if startingNow {
            startsAt = now
        } else {
            guard let start = data["starts_at"]?.intValue, start > now else {
                throw RoomError(.invalidEvent, "sale.scheduled needs 'starts_at' in the future (server time \(now)); publish sale.started to start now")
            }
            startsAt = start
        }
        let endsAt: Int64
        if let end = data["ends_at"]?.intValue {
            endsAt = end
        } else if let duration = data["duration_ms"]?.intValue {
            let (end, overflow) = startsAt.addingReportingOverflow(duration)
            guard !overflow else { throw RoomError(.invalidEvent, "'duration_ms' is out of range") }
            endsAt = end
        } else {
            throw RoomError(.invalidEvent, "a sale needs 'ends_at' or 'duration_ms'")
        }
        guard endsAt > startsAt, endsAt.subtractingReportingOverflow(startsAt).partialValue <= limits.maxSaleDurationMilliseconds else {
            throw RoomError(.invalidEvent, "a sale ends after it starts and lasts at most \(limits.maxSaleDurationMilliseconds) ms")
        }
        // `starts_at` + `duration_ms` can pass 2^53 − 1 even when both are within it.
        guard endsAt <= JSONValue.maxSafeInteger else {
            throw RoomError(.invalidEvent, "a sale ends by \(JSONValue.maxSafeInteger) ms at the latest")
        }
        return FlashSale(
            id: id,
            title: data["title"]?.stringValue,
            items: items,
            startsAt: startsAt,
            endsAt: endsAt,
            totalLimit: data["total_limit"]?.intValue,
            perBuyerLimit: data["per_buyer_limit"]?.intValue,
            status: startingNow ? .active : .scheduled
        )
    }

    private static func checkVariants(_ products: [Product]) throws(RoomError) {
        for product in products where Set(product.variants.map(\.id)).count != product.variants.count {
            throw RoomError(.invalidEvent, "product \(product.id) lists a variant id twice")
        }
    }

    /// A drop keeps the price before it for the struck-through display (the first one of
    /// a run of drops); a rise ends the drop.
    private static func previousPrice(old: Int64, oldPrevious: Int64?, new: Int64) -> Int64? {
        if new < old { return max(oldPrevious ?? old, old) }
        if new > old { return nil }
        return oldPrevious
    }

    private static func endData(_ sale: FlashSale, reason: String, now: Int64) -> [String: JSONValue] {
        var data = sale.data
        data["status"] = "ended"
        data["reason"] = .string(reason)
        data["ended_at"] = .int(now)
        data["sold"] = .int(sale.sold)
        return data
    }

    private static func draft(_ kind: EventKind, id: String, data: [String: JSONValue]) -> EventDraft {
        // The bare `{sale}` form always validates; the full data is the server's.
        let base = (try? EventDraft(kind: kind, data: ["sale": .string(id)]))!
        return base.withData(data)
    }

    private static func objects(_ value: JSONValue?) -> [[String: JSONValue]] {
        guard case .array(let values) = value ?? .null else { return [] }
        return values.compactMap(\.objectValue)
    }
}
