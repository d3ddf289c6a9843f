import HawkerCommerce

/// The inventory as a store keeps it: units on hand per merchant product, and the units
/// each accepted checkout still holds, per merchant.
public struct StoredInventory: Sendable, Hashable {
    public struct Reservation: Sendable, Hashable {
        public var checkoutID: String
        public var merchant: String
        public var units: [SKU: Int64]

        public init(checkoutID: String, merchant: String, units: [SKU: Int64]) {
            self.checkoutID = checkoutID
            self.merchant = merchant
            self.units = units
        }
    }

    public var onHand: [SKU: Int64]
    public var reservations: [Reservation]

    public init(onHand: [SKU: Int64] = [:], reservations: [Reservation] = []) {
        self.onHand = onHand
        self.reservations = reservations
    }
}
