import HawkerCommerce

/// One merchant's part of an accepted checkout: what the relay delivers to that
/// merchant's backend, at least once, under `idempotencyKey`.
public struct OutboxDelivery: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case pending
        case confirmed
        case rejected
        /// Given up on after too many attempts or too long; re-drivable by an operator.
        case deadLettered = "dead_lettered"
    }

    public var checkoutID: String
    public var merchant: String
    public var stream: String
    public var buyer: String
    /// Only this merchant's lines.
    public var lines: [Reservation.Line]
    public var region: String
    public var attribution: CheckoutRequest.Attribution
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var lastError: String?
    public var reference: String?
    public var createdAt: Int64

    /// What the backend deduplicates on: one order per checkout and merchant.
    public var idempotencyKey: String { "\(checkoutID):\(merchant)" }
}

/// What delivering a part led to.
public enum DeliveryOutcome: Sendable, Hashable {
    case confirmed(reference: String)
    case rejected(reason: String)
    /// Try again at `at` (milliseconds since the Unix epoch).
    case retry(at: Int64, error: String)
    case deadLetter(reason: String)
}
