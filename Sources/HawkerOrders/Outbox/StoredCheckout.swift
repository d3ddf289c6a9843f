import HawkerCommerce
import HawkerProtocol

/// A stored checkout and the state of each merchant's part, read back at a restart.
public struct StoredCheckout: Sendable {
    public struct Part: Sendable, Hashable {
        public var merchant: String
        public var status: OutboxDelivery.Status
        public var updatedAt: Int64
        public var redriven: Bool
    }

    public var reservation: Reservation
    public var stream: StreamID
    public var parts: [Part]
}
