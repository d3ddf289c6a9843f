import HawkerCommerce
import HawkerProtocol

/// An accepted checkout read back from the outbox after a restart, with what became of
/// each merchant's part: what a restored room squares with what it saved
/// (`StreamRoom.restoreCheckout`).
public struct RestoredCheckout: Sendable {
    public struct Part: Sendable {
        public var merchant: String
        /// nil: still on its way; else whether the merchant confirmed it.
        public var confirmed: Bool?
        /// When it was last recorded (its settlement, for a settled part).
        public var updatedAt: Int64
        /// Sent again after a dead letter, which gave its sale counts back.
        public var redriven: Bool

        public init(merchant: String, confirmed: Bool?, updatedAt: Int64, redriven: Bool = false) {
            self.merchant = merchant
            self.confirmed = confirmed
            self.updatedAt = updatedAt
            self.redriven = redriven
        }
    }

    public var reservation: Reservation
    public var stream: StreamID
    public var parts: [Part]

    public init(reservation: Reservation, stream: StreamID, parts: [Part]) {
        self.reservation = reservation
        self.stream = stream
        self.parts = parts
    }
}
