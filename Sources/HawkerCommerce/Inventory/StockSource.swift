/// Where a room's stock lives. In a gateway, the `InventoryLedger`: one level per merchant
/// product over every stream that shows it. Alone (tests, tools), a `LocalStock` per room.
public protocol StockSource: AnyObject, Sendable {
    /// What may be bought of `sku` now; nil when its stock is not tracked.
    func available(_ sku: SKU) -> Int64?

    /// Whether a host may set the level of `sku` (a catalog's `stock`, `stock.changed`):
    /// false for a merchant that sets its levels alone.
    func hostMaySet(_ sku: SKU) -> Bool

    /// Sets what is available now (a host's level); false when it cannot be tracked.
    @discardableResult
    func setAvailable(_ sku: SKU, to level: Int64) -> Bool

    /// Holds `units` for `checkoutID`, all or none, or refuses with `soldOut` /
    /// `insufficientStock`.
    func reserve(_ checkoutID: String, _ units: [Inventory.Units]) throws(CheckoutRejection)

    /// Gives back what `checkoutID` holds (it could not be recorded).
    func release(_ checkoutID: String)

    /// A merchant settled its part of `checkoutID`.
    func settle(_ checkoutID: String, merchant: String, confirmed: Bool)
}
