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
    }

    private let state: Mutex<State>
    private let journal: StateJournal?
    /// Merchants that set their levels alone (`HubConfiguration.merchantsSettingStock`).
    private let merchantsSettingStock: Set<String>
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
        self.merchantsSettingStock = merchantsSettingStock
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

    public func hostMaySet(_ sku: SKU) -> Bool { !merchantsSettingStock.contains(sku.merchant) }

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
            return ((), moved, merchants.map { StateChange.reservationClosed(checkoutID: checkoutID, merchant: $0) })
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
        var changes = [StateChange.reservationClosed(checkoutID: checkoutID, merchant: merchant)]
        // A confirmed order took its units off on hand: the same commit says so.
        if confirmed { changes += moved.map { .stockOnHand($0, inventory.level($0)?.onHand) } }
        return (moved, changes)
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
            guard inventory.adjust(sku, by: delta) else { return (false, [], []) }
            return (true, [sku], [.stockOnHand(sku, inventory.level(sku)?.onHand)])
        }
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
                guard let skus = inventory.apply(update, merchant: merchant) else { return (nil, [], []) }
                return (skus.map { ($0, inventory.level($0)) }, skus, skus.map { .stockOnHand($0, inventory.level($0)?.onHand) })
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
            return ((), skus, skus.map { .stockOnHand($0, inventory.level($0)?.onHand) })
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
                journal.submit(changes) { _ in stored?() }
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
