import HawkerCommerce
import HawkerProtocol
import HawkerState
import Synchronization

/// The gateway's stock: one level per merchant product for every stream that shows it,
/// and the units accepted checkouts hold (see `Inventory`). Checkouts on any event loop
/// reserve here, under one lock, so one unit is never sold twice, whichever streams sell
/// it.
///
/// Every change is handed to the state journal while the lock is held, so the store sees
/// them in the order they happened. Streams that show a product register here and hear
/// when its level moves (`onMove`), to send their viewers `stock.changed`.
public final class InventoryLedger: StockSource {
    private struct State {
        var inventory: Inventory
        /// The store had no level and no hold at start: written before stock was kept per
        /// merchant product (or new). Only then do saved rooms and the outbox seed levels.
        var startedEmpty = false
        /// Streams that show each SKU, and the SKUs each stream shows.
        var watchers: [SKU: Set<StreamID>] = [:]
        var watched: [StreamID: Set<SKU>] = [:]
        /// Cluster mode: checkouts whose hold the shared store refused (sold elsewhere), until
        /// their checkout hears it (`takeRefusal`), each with its number in order of refusal.
        var refused: [String: UInt64] = [:]
        var refusals: UInt64 = 0
        /// Per SKU: changes made here (counted up at each), and those not yet in the store.
        /// A level read from the shared store is taken only for a SKU with none in flight
        /// and none made since the read began: else it would undo what is on its way.
        var changes: [SKU: UInt64] = [:]
        var unstored: [SKU: Int] = [:]
    }

    private let state: Mutex<State>
    private let journal: StateJournal?
    /// Merchants that set their levels alone (`HubConfiguration.merchantsSettingStock`, and
    /// merchants registered at run time).
    private let merchantsSettingStock: Mutex<Set<String>>
    /// Told which SKUs moved and which streams show them (outside the lock).
    private let listener = Mutex<Listener?>(nil)

    /// The handler in a class: a closure kept directly in a generic `Mutex` is
    /// re-wrapped in two reabstraction thunks on every `withLock` (the inout write-back),
    /// and a call walked the whole chain (measured: 60% of a checkout storm's CPU).
    private final class Listener: Sendable {
        let handler: @Sendable ([SKU: Set<StreamID>]) -> Void
        init(_ handler: @escaping @Sendable ([SKU: Set<StreamID>]) -> Void) { self.handler = handler }
    }

    public init(journal: StateJournal?, maxSKUs: Int = 1_000_000, maxSKUsPerMerchant: Int = 100_000, merchantsSettingStock: Set<String> = []) {
        self.journal = journal
        self.merchantsSettingStock = Mutex(merchantsSettingStock)
        self.state = Mutex(State(inventory: Inventory(maxSKUs: maxSKUs, maxSKUsPerMerchant: maxSKUsPerMerchant)))
    }

    /// Who hears about moved levels: the hub, which hops to each stream's loop.
    func whenLevelsMove(_ handler: @escaping @Sendable ([SKU: Set<StreamID>]) -> Void) {
        listener.withLock { $0 = Listener(handler) }
    }

    public var inventory: Inventory { state.withLock { $0.inventory } }

    // MARK: - StockSource

    public func available(_ sku: SKU) -> Int64? {
        state.withLock { $0.inventory.available(sku) }
    }

    public func hostMaySet(_ sku: SKU) -> Bool { !merchantsSettingStock.withLock { $0.contains(sku.merchant) } }

    /// A merchant registered or changed at run time: whether its API alone sets its levels.
    public func setMerchantSetsStock(_ merchant: String, _ alone: Bool) {
        merchantsSettingStock.withLock { merchants in
            if alone { merchants.insert(merchant) } else { merchants.remove(merchant) }
        }
    }

    /// Whether the store had no level and no hold at start (see `holdAccepted`).
    var startedEmpty: Bool { state.withLock { $0.startedEmpty } }

    public func setAvailable(_ sku: SKU, to level: Int64) -> Bool {
        change { inventory in
            guard inventory.setAvailable(sku, to: level) else { return (false, [], []) }
            return (true, [sku], [.stockOnHand(sku, inventory.level(sku)?.onHand)])
        }
    }

    public func reserve(_ checkoutID: String, _ units: [Inventory.Units]) throws(CheckoutRejection) {
        let result: Result<Void, CheckoutRejection> = change { inventory in
            do throws(CheckoutRejection) {
                try inventory.reserve(checkoutID, units)
            } catch {
                return (.failure(error), [], [])
            }
            let parts = inventory.open[checkoutID] ?? [:]
            let changes = parts.sorted { $0.key < $1.key }.map { StateChange.reservationOpened(checkoutID: checkoutID, merchant: $0.key, units: $0.value) }
            return (.success(()), parts.values.flatMap(\.keys), changes)
        }
        try result.get()
    }

    public func release(_ checkoutID: String) {
        change { inventory in
            let merchants = (inventory.open[checkoutID] ?? [:]).keys.sorted()
            let moved = inventory.release(checkoutID)
            return ((), moved, merchants.map { StateChange.reservationClosed(checkoutID: checkoutID, merchant: $0, confirmed: false) })
        }
    }

    public func settle(_ checkoutID: String, merchant: String, confirmed: Bool) {
        change { inventory in
            guard inventory.open[checkoutID]?[merchant] != nil else { return ((), [], []) }
            let (moved, changes) = Self.settleHold(checkoutID, merchant: merchant, confirmed: confirmed, in: &inventory)
            return ((), moved, changes)
        }
    }

    /// Settles a held part and says what changed (inside `change`).
    private static func settleHold(
        _ checkoutID: String, merchant: String, confirmed: Bool, in inventory: inout Inventory
    ) -> ([SKU], [StateChange]) {
        let moved = inventory.settle(checkoutID, merchant: merchant, confirmed: confirmed)
        // A confirmed order took its units off on hand: the store does the same with the
        // units it holds (not an absolute level: another node may have moved it since).
        return (moved, [.reservationClosed(checkoutID: checkoutID, merchant: merchant, confirmed: confirmed)])
    }

    // MARK: - Merchants

    /// Sets what the merchant holds outside the orders it has received (nil: no longer
    /// tracked, the product is unlimited). False when a new SKU cannot be tracked.
    @discardableResult
    public func setOnHand(_ sku: SKU, to onHand: Int64?) -> Bool {
        change { inventory in
            guard let onHand else {
                inventory.untrack(sku)
                return (true, [sku], [.stockOnHand(sku, nil)])
            }
            guard inventory.setOnHand(sku, to: onHand) else { return (false, [], []) }
            return (true, [sku], [.stockOnHand(sku, inventory.level(sku)?.onHand)])
        }
    }

    /// Adds (or takes) units on hand; false when a new SKU cannot be tracked.
    @discardableResult
    public func adjust(_ sku: SKU, by delta: Int64) -> Bool {
        change { inventory in
            let tracked = inventory.level(sku) != nil
            guard inventory.adjust(sku, by: delta) else { return (false, [], []) }
            return (true, [sku], [tracked ? .stockAdjusted(sku, by: delta, id: RandomID.hex16()) : .stockOnHand(sku, inventory.level(sku)?.onHand)])
        }
    }

    /// Puts units a merchant took back into stock where it is tracked: each SKU's own
    /// level, or for a variant without one its product's; an untracked one stays
    /// unlimited. Checked and changed under one lock, so that a SKU untracked meanwhile is
    /// not tracked again at the returned units. `stored` runs once the store holds it (at
    /// once when nothing was tracked). Returns the SKUs changed.
    @discardableResult
    public func restock(_ units: [SKU: Int64], stored: @escaping @Sendable () -> Void = {}) -> [SKU] {
        change(
            { inventory in
                var moved: [SKU] = []
                var changes: [StateChange] = []
                for (sku, quantity) in units.sorted(by: { "\($0.key)" < "\($1.key)" }) where quantity > 0 {
                    guard let counting = inventory.countingSKU(sku), inventory.adjust(counting, by: quantity) else { continue }
                    moved.append(counting)
                    changes.append(.stockAdjusted(counting, by: quantity, id: RandomID.hex16()))
                }
                return (moved, moved, changes)
            }, stored: stored)
    }

    /// Holds units of an order already accepted, found pending in the outbox at start
    /// without a hold. From a store from before holds were kept (`startedEmpty`), its level
    /// came from a saved room, where these units were already taken: they are added to on
    /// hand as they are held, so what is available does not move. Otherwise (a hold lost
    /// with a `kill -9` before it was stored) they are only held: what is available drops,
    /// never a unit offered twice. Nothing when it has a hold.
    public func holdAccepted(_ checkoutID: String, merchant: String, _ units: [SKU: Int64]) {
        let addingToOnHand = startedEmpty
        change { inventory in
            guard inventory.open[checkoutID]?[merchant] == nil else { return ((), [], []) }
            if addingToOnHand {
                for (line, quantity) in units { if let sku = inventory.countingSKU(line) { inventory.adjust(sku, by: quantity) } }
            }
            inventory.hold(checkoutID, merchant: merchant, units)
            guard let held = inventory.open[checkoutID]?[merchant] else { return ((), [], []) }
            return (
                (), Array(held.keys),
                [.reservationOpened(checkoutID: checkoutID, merchant: merchant, units: held)] + held.keys.map { .stockOnHand($0, inventory.level($0)?.onHand) }
            )
        }
    }

    /// A merchant's update (its back office, its order service), all or none; nil when its
    /// new SKUs cannot be tracked. Returns each named SKU's level after it (nil: not
    /// tracked). `stored` runs once the store holds the change (at once without a store).
    public func apply(
        _ update: InventoryUpdate, merchant: String, stored: @escaping @Sendable () -> Void = {}
    ) -> [(sku: SKU, level: StockLevel?)]? {
        change(
            { inventory in
                let trackedBefore = Set(update.items.map { SKU(merchant: merchant, product: $0.product, variant: $0.variant) }.filter { inventory.level($0) != nil })
                guard let skus = inventory.apply(update, merchant: merchant) else { return (nil, [], []) }
                let changes = zip(update.items, skus).map { item, sku -> StateChange in
                    // An adjustment is a delta, so that other nodes' changes to it stay.
                    if case .adjust(let delta) = item.change, trackedBefore.contains(sku), inventory.level(sku) != nil { return .stockAdjusted(sku, by: delta, id: RandomID.hex16()) }
                    return .stockOnHand(sku, inventory.level(sku)?.onHand)
                }
                return (skus.map { ($0, inventory.level($0)) }, skus, changes)
            }, stored: stored)
    }

    /// What a merchant keeps for `product` (its own level, then its variants').
    public func levels(merchant: String, product: String) -> [(sku: SKU, level: StockLevel)] {
        state.withLock { $0.inventory.levels(merchant: merchant, product: product) }
    }

    /// A page of a merchant's tracked products with their levels, by product id.
    public func page(merchant: String, after: String?, limit: Int) -> (levels: [(sku: SKU, level: StockLevel)], more: Bool) {
        // Sorted outside the lock every checkout takes: a merchant's list can be long.
        let candidates = state.withLock { $0.inventory.productIDs(merchant: merchant, after: after) }.sorted()
        let products = candidates.prefix(limit)
        let levels = state.withLock { state in products.flatMap { state.inventory.levels(merchant: merchant, product: $0) } }
        return (levels, candidates.count > limit)
    }

    /// A re-driven order (given up on, its units offered again, then sent again) was
    /// confirmed: its units leave on hand now. When it still holds them (its dead letter
    /// has not been released yet) the hold is settled as confirmed instead: one lock for
    /// both cases, so a release cannot fall between them.
    public func confirmUnheld(_ checkoutID: String, merchant: String, _ units: [SKU: Int64]) {
        change { inventory in
            if inventory.open[checkoutID]?[merchant] != nil {
                let (moved, changes) = Self.settleHold(checkoutID, merchant: merchant, confirmed: true, in: &inventory)
                return ((), moved, changes)
            }
            var moved: [SKU: Int64] = [:]
            for (line, quantity) in units where quantity > 0 {
                if let sku = inventory.countingSKU(line) { moved[sku, default: 0] += quantity }
            }
            for (sku, quantity) in moved { inventory.adjust(sku, by: -quantity) }
            let skus = moved.keys.sorted()
            return ((), skus, skus.map { .stockAdjusted($0, by: -(moved[$0] ?? 0), id: RandomID.hex16()) })
        }
    }

    // MARK: - Streams

    /// `stream` now shows `skus` (its catalog changed): it hears when they move.
    func watch(_ stream: StreamID, _ skus: Set<SKU>) {
        state.withLock { state in
            let before = state.watched[stream] ?? []
            for sku in before.subtracting(skus) {
                state.watchers[sku]?.remove(stream)
                if state.watchers[sku]?.isEmpty == true { state.watchers[sku] = nil }
            }
            for sku in skus.subtracting(before) { state.watchers[sku, default: []].insert(stream) }
            state.watched[stream] = skus.isEmpty ? nil : skus
        }
    }

    func unwatch(_ stream: StreamID) {
        watch(stream, [])
    }

    // MARK: - Cluster

    /// Refusals kept for checkouts to hear: a checkout hears its own as soon as its commit
    /// ends, so only refusals whose checkout is gone (a node stepping back) stay; past this
    /// many, the oldest go.
    private static let maxRefusals: UInt64 = 100_000

    /// The shared store refused these holds (another node sold the units): their checkouts
    /// give back what they hold here, and are told when they commit (`takeRefusal`).
    /// Returns the SKUs they held, whose levels here are behind.
    public func refuse(_ holds: [(checkoutID: String, merchant: String)]) -> [SKU] {
        let checkouts = Set(holds.map(\.checkoutID))
        var skus: Set<SKU> = []
        state.withLock { state in
            for checkout in checkouts {
                for part in (state.inventory.open[checkout] ?? [:]).values { skus.formUnion(part.keys) }
                state.refused[checkout] = state.refusals
                state.refusals &+= 1
            }
            if UInt64(state.refused.count) > Self.maxRefusals {
                let oldest = state.refusals &- Self.maxRefusals
                state.refused = state.refused.filter { $0.value >= oldest }
            }
        }
        for checkout in checkouts.sorted() { release(checkout) }
        return skus.sorted()
    }

    /// Cluster mode: a merchant settled its part of `checkoutID`, whichever node holds it:
    /// settled here when this node holds it, and closed in the shared store in any case
    /// (a no-op there when it holds nothing), so that a hold made by a node that died or
    /// a stream that ended still ends.
    public func settleShared(_ checkoutID: String, merchant: String, confirmed: Bool) {
        change { inventory in
            guard inventory.open[checkoutID]?[merchant] != nil else {
                return ((), [], [.reservationClosed(checkoutID: checkoutID, merchant: merchant, confirmed: confirmed)])
            }
            let (moved, changes) = Self.settleHold(checkoutID, merchant: merchant, confirmed: confirmed, in: &inventory)
            return ((), moved, changes)
        }
    }

    /// Cluster mode: gives back what `checkoutID` holds for `merchants`, here and in the
    /// shared store, whichever node holds it.
    public func releaseShared(_ checkoutID: String, merchants: [String]) {
        change { inventory in
            let held = Set((inventory.open[checkoutID] ?? [:]).keys)
            let moved = inventory.release(checkoutID)
            let all = held.union(merchants).sorted()
            return ((), moved, all.map { StateChange.reservationClosed(checkoutID: checkoutID, merchant: $0, confirmed: false) })
        }
    }

    /// Whether the shared store refused this checkout's hold (once: the refusal is then
    /// forgotten).
    public func takeRefusal(_ checkoutID: String) -> Bool {
        state.withLock { $0.refused.removeValue(forKey: checkoutID) != nil }
    }

    /// The SKUs the streams here show.
    public var watchedSKUs: [SKU] { state.withLock { Array($0.watchers.keys) } }

    /// The SKUs this node tracks a level for.
    public var trackedSKUs: [SKU] { state.withLock { Array($0.inventory.levels.keys) } }

    /// Where the local changes stand, to call before reading levels from the shared store
    /// and hand to `sync` with what was read.
    public func changeCounts() -> [SKU: UInt64] {
        state.withLock { $0.changes }
    }

    /// Brings this node's view of `skus` to the shared store's (cluster mode): what is
    /// available here becomes on hand − held there; the units this node's own checkouts
    /// hold stay held here. A SKU of `skus` the store does not track (not in `stock`) is no
    /// longer tracked here either. A SKU changed here since `counts` were taken, or with a
    /// change still on its way to the store, keeps its level here. Nothing is written;
    /// streams showing a level that moved hear of it.
    /// Returns the SKUs left as they were because of a change here (to sync again later).
    @discardableResult
    public func sync(_ stock: [SKU: (onHand: Int64, held: Int64)], skus: [SKU]? = nil, counts: [SKU: UInt64]) -> [SKU] {
        let (watchers, skipped) = state.withLock { state -> ([SKU: Set<StreamID>], [SKU]) in
            var moved: [SKU: Set<StreamID>] = [:]
            var skipped: [SKU] = []
            for sku in skus ?? Array(stock.keys) {
                guard state.unstored[sku] == nil, state.changes[sku] == counts[sku] else {
                    skipped.append(sku)
                    continue
                }
                guard let shared = stock[sku] else {
                    // Untracked by another node (its merchant said so): unlimited here too.
                    guard state.inventory.level(sku) != nil else { continue }
                    state.inventory.untrack(sku)
                    if let streams = state.watchers[sku] { moved[sku] = streams }
                    continue
                }
                let pending = state.inventory.level(sku)?.pending ?? 0
                let before = state.inventory.available(sku)
                let (onHand, overflow) = (shared.onHand - shared.held).addingReportingOverflow(pending)
                state.inventory.restoreOnHand(sku, to: overflow ? JSONValue.maxSafeInteger : onHand)
                if state.inventory.available(sku) != before, let streams = state.watchers[sku] { moved[sku] = streams }
            }
            return (moved, skipped)
        }
        if !watchers.isEmpty, let listener = listener.withLock({ $0 }) { listener.handler(watchers) }
        return skipped
    }

    // MARK: - Restart

    /// What the store kept: units on hand, then the holds of accepted checkouts.
    func restore(_ stored: StoredInventory) {
        state.withLock { state in
            state.startedEmpty = stored.onHand.isEmpty && stored.reservations.isEmpty
            for (sku, onHand) in stored.onHand { state.inventory.restoreOnHand(sku, to: onHand) }
            for reservation in stored.reservations {
                state.inventory.hold(reservation.checkoutID, merchant: reservation.merchant, reservation.units, exactly: true)
            }
        }
    }

    /// Accepted checkouts still holding units, per merchant (to check against the outbox).
    public var openReservations: [(checkoutID: String, merchant: String)] {
        state.withLock { state in
            state.inventory.open.flatMap { checkout, parts in parts.keys.map { (checkout, $0) } }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        }
    }

    // MARK: - Changing

    /// Runs `body` on the inventory under the lock, hands its changes to the journal in the
    /// same critical section (store order = memory order), then tells the streams that
    /// show the moved SKUs.
    private func change<T>(_ body: (inout Inventory) -> (T, [SKU], [StateChange]), stored: (@Sendable () -> Void)? = nil) -> T {
        let (value, watchers) = state.withLock { state -> (T, [SKU: Set<StreamID>]) in
            let (value, moved, changes) = body(&state.inventory)
            if let journal, !changes.isEmpty {
                let touched = Set(moved).union(changes.flatMap(\.skus))
                for sku in touched {
                    state.changes[sku, default: 0] &+= 1
                    state.unstored[sku, default: 0] += 1
                }
                journal.submit(changes) { [weak self] _ in
                    self?.state.withLock { state in
                        for sku in touched {
                            state.unstored[sku, default: 1] -= 1
                            if state.unstored[sku] == 0 { state.unstored[sku] = nil }
                        }
                    }
                    stored?()
                }
            } else {
                stored?()
            }
            var watchers: [SKU: Set<StreamID>] = [:]
            for sku in moved { if let streams = state.watchers[sku] { watchers[sku] = streams } }
            return (value, watchers)
        }
        if !watchers.isEmpty, let listener = listener.withLock({ $0 }) { listener.handler(watchers) }
        return value
    }
}

extension StateChange {
    /// The SKUs a stock change names (a hold's, a level's).
    fileprivate var skus: [SKU] {
        switch self {
        case .stockOnHand(let sku, _), .stockAdjusted(let sku, _, _): [sku]
        case .reservationOpened(_, _, let units): Array(units.keys)
        case .created, .appended, .trimmed, .roomSaved, .archived, .removed, .fence, .reservationClosed: []
        }
    }
}
