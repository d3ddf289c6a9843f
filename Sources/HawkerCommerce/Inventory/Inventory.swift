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
    /// SKUs tracked at most; past it a new level is refused (`limitReached`).
    public let maxSKUs: Int

    public init(maxSKUs: Int = 1_000_000) {
        self.maxSKUs = maxSKUs
    }

    public func available(_ sku: SKU) -> Int64? { levels[sku]?.available }

    public func level(_ sku: SKU) -> StockLevel? { levels[sku] }

    // MARK: - Levels

    /// Sets what is available now (a host's level); returns false when a new SKU would
    /// pass `maxSKUs`.
    @discardableResult
    public mutating func setAvailable(_ sku: SKU, to level: Int64) -> Bool {
        let pending = levels[sku]?.pending ?? 0
        return setOnHand(sku, to: Self.clamp(level.addingReportingOverflow(pending)))
    }

    /// Sets what the merchant holds; returns false when a new SKU would pass `maxSKUs`.
    @discardableResult
    public mutating func setOnHand(_ sku: SKU, to onHand: Int64) -> Bool {
        guard levels[sku] != nil || levels.count < maxSKUs else { return false }
        levels[sku, default: StockLevel(onHand: 0)].onHand = min(max(0, onHand), JSONValue.maxSafeInteger)
        return true
    }

    /// Adds (or with a negative `delta` takes) units on hand: a restock, a count.
    @discardableResult
    public mutating func adjust(_ sku: SKU, by delta: Int64) -> Bool {
        let onHand = levels[sku]?.onHand ?? 0
        return setOnHand(sku, to: Self.clamp(onHand.addingReportingOverflow(delta)))
    }

    /// Stops tracking `sku` (its product is unlimited again); what is pending stays counted
    /// by its checkouts.
    public mutating func untrack(_ sku: SKU) {
        levels[sku] = nil
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

    /// Holds the units of `checkoutID` on every tracked SKU, all or none: refused with
    /// `soldOut` or `insufficientStock` (per product, in order of SKU) when one is short.
    /// Untracked SKUs are not limited and hold nothing.
    public mutating func reserve(_ checkoutID: String, _ units: [Units]) throws(CheckoutRejection) {
        var needed: [SKU: Int64] = [:]
        for line in units where levels[line.sku] != nil { needed[line.sku, default: 0] += line.quantity }
        for (sku, quantity) in needed.sorted(by: { $0.key < $1.key }) {
            let available = levels[sku]?.available ?? 0
            if available == 0 { throw CheckoutRejection(.soldOut, product: sku.product, available: 0, "sold out") }
            if available < quantity {
                throw CheckoutRejection(.insufficientStock, product: sku.product, available: available, "only \(available) left")
            }
        }
        guard !needed.isEmpty, open[checkoutID] == nil else { return }
        for (sku, quantity) in needed {
            levels[sku]?.pending += quantity
            open[checkoutID, default: [:]][sku.merchant, default: [:]][sku, default: 0] += quantity
        }
    }

    /// Restores a reservation that is already accepted (a restart, from the store or the
    /// outbox): held whatever the level says now.
    public mutating func hold(_ checkoutID: String, merchant: String, _ units: [SKU: Int64]) {
        guard open[checkoutID]?[merchant] == nil else { return }
        var held: [SKU: Int64] = [:]
        for (sku, quantity) in units where quantity > 0 {
            guard let level = levels[sku] else { continue }
            levels[sku]!.pending = Self.clamp(level.pending.addingReportingOverflow(quantity))
            held[sku] = quantity
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
        for (sku, quantity) in part where levels[sku] != nil {
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
