import HawkerProtocol

/// Stock per merchant product, shared by every stream that shows it, and the units each
/// accepted checkout holds until its merchants settle it. A value type; `InventoryLedger`
/// (HawkerHub) guards the one instance of a gateway.
///
/// - A host's level (a catalog's `stock`, `stock.changed`) is what viewers should see
///   available now: on hand becomes that level plus what is pending.
/// - A merchant's level is what it holds outside the orders it has received: on hand.
/// - A confirmed order takes its units off on hand and out of pending; a failed one only
///   out of pending (they are offered again).
public struct Inventory: Sendable {
    public private(set) var levels: [SKU: StockLevel] = [:]
    /// Units held per checkout, per merchant, per SKU: what its settlement releases.
    public private(set) var open: [String: [String: [SKU: Int64]]] = [:]
    /// What is tracked per merchant and product: the variants ("" for the product's own
    /// level). What a merchant's back office lists.
    private var tracked: [String: [String: Set<String>]] = [:]
    /// Units pending on SKUs no longer tracked (`on_hand: null` while orders were on their
    /// way): they stay pending there, and count again if the SKU is tracked again.
    public private(set) var untrackedPending: [SKU: Int64] = [:]
    /// SKUs tracked at most, in all and per merchant; past either a new level is refused
    /// (`limitReached`): one merchant cannot take the whole gateway's room.
    public let maxSKUs: Int
    public let maxSKUsPerMerchant: Int
    private var skusPerMerchant: [String: Int] = [:]

    public init(maxSKUs: Int = 1_000_000, maxSKUsPerMerchant: Int = 100_000) {
        self.maxSKUs = maxSKUs
        self.maxSKUsPerMerchant = maxSKUsPerMerchant
    }

    public func available(_ sku: SKU) -> Int64? { levels[sku]?.available }

    public func level(_ sku: SKU) -> StockLevel? { levels[sku] }

    // MARK: - Levels

    /// Sets what is available now (a host's level); returns false when a new SKU would
    /// pass `maxSKUs`.
    @discardableResult
    public mutating func setAvailable(_ sku: SKU, to level: Int64) -> Bool {
        // Tracked again: what stayed pending while it was not counts (see `untrack`).
        let pending = levels[sku]?.pending ?? untrackedPending[sku] ?? 0
        return setOnHand(sku, to: Self.clamp(level.addingReportingOverflow(pending)))
    }

    /// Sets what the merchant holds; returns false when a new SKU would pass `maxSKUs`.
    @discardableResult
    public mutating func setOnHand(_ sku: SKU, to onHand: Int64) -> Bool {
        guard levels[sku] != nil || (levels.count < maxSKUs && skusPerMerchant[sku.merchant, default: 0] < maxSKUsPerMerchant) else { return false }
        restoreOnHand(sku, to: onHand)
        return true
    }

    /// Sets on hand whatever the bounds: `setOnHand` checks them for a new SKU first; a
    /// level read back from the store at start passes them (a tracked product must not
    /// become unlimited by a restart under a lowered bound).
    public mutating func restoreOnHand(_ sku: SKU, to onHand: Int64) {
        if levels[sku] == nil {
            skusPerMerchant[sku.merchant, default: 0] += 1
            tracked[sku.merchant, default: [:]][sku.product, default: []].insert(sku.variant ?? "")
            levels[sku] = StockLevel(onHand: 0, pending: untrackedPending.removeValue(forKey: sku) ?? 0)
        }
        levels[sku]!.onHand = min(max(0, onHand), JSONValue.maxSafeInteger)
    }

    /// Adds (or with a negative `delta` takes) units on hand: a restock, a count.
    @discardableResult
    public mutating func adjust(_ sku: SKU, by delta: Int64) -> Bool {
        let onHand = levels[sku]?.onHand ?? 0
        return setOnHand(sku, to: Self.clamp(onHand.addingReportingOverflow(delta)))
    }

    /// Stops tracking `sku` (its product is unlimited again); what is pending stays counted
    /// by its checkouts (and by the SKU, should it be tracked again before they settle).
    public mutating func untrack(_ sku: SKU) {
        guard let level = levels.removeValue(forKey: sku) else { return }
        if level.pending > 0 { untrackedPending[sku] = level.pending }
        skusPerMerchant[sku.merchant, default: 1] -= 1
        if skusPerMerchant[sku.merchant] == 0 { skusPerMerchant[sku.merchant] = nil }
        tracked[sku.merchant]?[sku.product]?.remove(sku.variant ?? "")
        if tracked[sku.merchant]?[sku.product]?.isEmpty == true { tracked[sku.merchant]?[sku.product] = nil }
        if tracked[sku.merchant]?.isEmpty == true { tracked[sku.merchant] = nil }
    }

    // MARK: - Merchants

    /// Applies a merchant's update, all or none: nil (nothing changed) when its new SKUs
    /// would pass `maxSKUs`. Returns the SKUs it names, in its order.
    public mutating func apply(_ update: InventoryUpdate, merchant: String) -> [SKU]? {
        let skus = update.items.map { SKU(merchant: merchant, product: $0.product, variant: $0.variant) }
        let added = zip(update.items, skus).filter { $0.change != .untrack && levels[$1] == nil }.count
        let removed = zip(update.items, skus).filter { $0.change == .untrack && levels[$1] != nil }.count
        let merchantCount = skusPerMerchant[merchant, default: 0]
        guard added <= maxSKUs - levels.count + removed, added <= maxSKUsPerMerchant - merchantCount + removed else { return nil }
        // Each SKU appears once: untracking first makes the room the others may need.
        for (item, sku) in zip(update.items, skus) where item.change == .untrack { untrack(sku) }
        for (item, sku) in zip(update.items, skus) {
            switch item.change {
            case .onHand(let level): setOnHand(sku, to: level)
            case .available(let level): setAvailable(sku, to: level)
            case .adjust(let delta): adjust(sku, by: delta)
            case .untrack: break
            }
        }
        return skus
    }

    /// The levels a merchant keeps for `product`: its own (variant nil) first, then its
    /// variants' by id.
    public func levels(merchant: String, product: String) -> [(sku: SKU, level: StockLevel)] {
        (tracked[merchant]?[product] ?? []).sorted().compactMap { variant in
            let sku = SKU(merchant: merchant, product: product, variant: variant.isEmpty ? nil : variant)
            return levels[sku].map { (sku, $0) }
        }
    }

    /// A page of the products a merchant tracks, by id, after `after`.
    public func products(merchant: String, after: String?, limit: Int) -> (products: [String], more: Bool) {
        let all = productIDs(merchant: merchant, after: after).sorted()
        return (Array(all.prefix(limit)), all.count > limit)
    }

    /// The products a merchant tracks after `after`, in no order (sorting is the caller's,
    /// outside any lock).
    public func productIDs(merchant: String, after: String?) -> [String] {
        let after = after ?? ""  // product ids are never empty
        return (tracked[merchant] ?? [:]).keys.filter { $0 > after }
    }

    // MARK: - Checkouts

    /// One line of a checkout as the inventory sees it.
    public struct Units: Sendable, Hashable {
        public var sku: SKU
        public var quantity: Int64

        public init(sku: SKU, quantity: Int64) {
            self.sku = sku
            self.quantity = quantity
        }
    }

    /// Where units of `sku` are counted: its own level, else (a variant without one) its
    /// product's; nil when neither is tracked.
    public func countingSKU(_ sku: SKU) -> SKU? {
        if levels[sku] != nil { return sku }
        if sku.variant != nil, levels[sku.productSKU] != nil { return sku.productSKU }
        return nil
    }

    /// Holds the units of `checkoutID` on every tracked SKU, all or none: refused with
    /// `soldOut` or `insufficientStock` (per product, in order of SKU) when one is short.
    /// A variant without a level of its own takes from its product's. Untracked SKUs are
    /// not limited and hold nothing.
    public mutating func reserve(_ checkoutID: String, _ units: [Units]) throws(CheckoutRejection) {
        var needed: [SKU: Int64] = [:]
        for line in units {
            if let sku = countingSKU(line.sku) { needed[sku, default: 0] += line.quantity }
        }
        for (sku, quantity) in needed.sorted(by: { $0.key < $1.key }) {
            let available = levels[sku]?.available ?? 0
            let what = sku.variant.map { "variant '\($0)'" } ?? "product"
            if available == 0 { throw CheckoutRejection(.soldOut, product: sku.product, available: 0, "this \(what) is sold out") }
            if available < quantity {
                throw CheckoutRejection(.insufficientStock, product: sku.product, available: available, "only \(available) left of this \(what)")
            }
        }
        guard !needed.isEmpty, open[checkoutID] == nil else { return }
        for (sku, quantity) in needed {
            levels[sku]?.pending += quantity
            open[checkoutID, default: [:]][sku.merchant, default: [:]][sku, default: 0] += quantity
        }
    }

    /// Restores a reservation that is already accepted: held whatever the level says now.
    /// From the store (`exactly`), on the SKUs it was held on, tracked now or not; from the
    /// outbox's order lines, where their units count now (`countingSKU`).
    public mutating func hold(_ checkoutID: String, merchant: String, _ units: [SKU: Int64], exactly: Bool = false) {
        guard open[checkoutID]?[merchant] == nil else { return }
        var held: [SKU: Int64] = [:]
        for (line, quantity) in units where quantity > 0 {
            if exactly, levels[line] == nil {
                untrackedPending[line] = Self.clamp((untrackedPending[line] ?? 0).addingReportingOverflow(quantity))
                held[line, default: 0] += quantity
                continue
            }
            guard let sku = countingSKU(line), let level = levels[sku] else { continue }
            levels[sku]!.pending = Self.clamp(level.pending.addingReportingOverflow(quantity))
            held[sku, default: 0] += quantity
        }
        if !held.isEmpty { open[checkoutID, default: [:]][merchant] = held }
    }

    /// A merchant settled its part of a checkout: its units leave pending, and, when
    /// confirmed, on hand too. Settling twice changes nothing. Returns the SKUs that moved.
    @discardableResult
    public mutating func settle(_ checkoutID: String, merchant: String, confirmed: Bool) -> [SKU] {
        guard let part = open[checkoutID]?[merchant] else { return [] }
        open[checkoutID]?[merchant] = nil
        if open[checkoutID]?.isEmpty == true { open[checkoutID] = nil }
        for (sku, quantity) in part {
            guard levels[sku] != nil else {
                // No longer tracked: nothing to take off on hand, only what was pending.
                let left = (untrackedPending[sku] ?? 0) - quantity
                untrackedPending[sku] = left > 0 ? left : nil
                continue
            }
            levels[sku]!.pending = max(0, levels[sku]!.pending - quantity)
            if confirmed { levels[sku]!.onHand = max(0, levels[sku]!.onHand - quantity) }
        }
        return part.keys.sorted()
    }

    /// Gives back every unit `checkoutID` holds (it could not be recorded). Returns the
    /// SKUs that moved.
    @discardableResult
    public mutating func release(_ checkoutID: String) -> [SKU] {
        guard let parts = open[checkoutID] else { return [] }
        var moved: [SKU] = []
        for merchant in parts.keys.sorted() { moved += settle(checkoutID, merchant: merchant, confirmed: false) }
        return moved
    }

    private static func clamp(_ result: (partialValue: Int64, overflow: Bool)) -> Int64 {
        result.overflow ? JSONValue.maxSafeInteger : min(max(0, result.partialValue), JSONValue.maxSafeInteger)
    }
}
