import Synchronization

/// A room's own stock, in memory: a room used without a gateway (tests, tools).
public final class LocalStock: StockSource {
    private let inventory = Mutex(Inventory())

    public init() {}

    public func available(_ sku: SKU) -> Int64? { inventory.withLock { $0.available(sku) } }

    public func hostMaySet(_ sku: SKU) -> Bool { true }

    public func setAvailable(_ sku: SKU, to level: Int64) -> Bool {
        inventory.withLock { $0.setAvailable(sku, to: level) }
    }

    public func reserve(_ checkoutID: String, _ units: [Inventory.Units]) throws(CheckoutRejection) {
        try inventory.withLock { inventory throws(CheckoutRejection) in try inventory.reserve(checkoutID, units) }
    }

    public func release(_ checkoutID: String) {
        inventory.withLock { _ = $0.release(checkoutID) }
    }

    public func settle(_ checkoutID: String, merchant: String, confirmed: Bool) {
        inventory.withLock { _ = $0.settle(checkoutID, merchant: merchant, confirmed: confirmed) }
    }

    public var snapshot: Inventory { inventory.withLock { $0 } }
}
