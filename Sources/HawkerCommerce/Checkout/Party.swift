/// One recipient of a part of a checkout: a seller's sale (`merchant == seller`), or the
/// shipment a supplier (`merchant`) makes for `seller` (dropship). A checkout has one
/// order per party, each under its own idempotency key.
public struct Party: Sendable, Hashable, Comparable {
    /// Who receives this part: its order backend gets it.
    public var merchant: String
    /// Whose sale it belongs to.
    public var seller: String

    public init(merchant: String, seller: String) {
        self.merchant = merchant
        self.seller = seller
    }

    /// A seller's sale of its own lines.
    public static func sale(_ seller: String) -> Party { Party(merchant: seller, seller: seller) }

    /// The shipment a supplier makes for a seller.
    public var isShipment: Bool { merchant != seller }

    public static func < (lhs: Party, rhs: Party) -> Bool {
        (lhs.seller, lhs.isShipment ? 1 : 0, lhs.merchant) < (rhs.seller, rhs.isShipment ? 1 : 0, rhs.merchant)
    }
}
