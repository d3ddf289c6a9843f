import HawkerProtocol

/// One SKU's stock: the units the merchant holds (`onHand`) and those accepted in
/// checkouts whose order that merchant has not settled yet (`pending`). Viewers see, and
/// checkouts may take, `available` = on hand − pending: a unit accepted once is never
/// offered again, whoever sets the level meanwhile.
public struct StockLevel: Sendable, Hashable, Codable {
    public var onHand: Int64
    public var pending: Int64

    public init(onHand: Int64, pending: Int64 = 0) {
        self.onHand = onHand
        self.pending = pending
    }

    public var available: Int64 { max(0, onHand - pending) }
}
