/// What a seller's recorded outcome does to its suppliers' held shipments: a confirmed
/// sale sends them (due now); a rejected one cancels them. A retry or a dead letter
/// leaves them held (a dead letter may be re-driven and confirmed yet).
struct ShipmentRelease {
    var status: OutboxDelivery.Status
    /// Kept as the shipment's last error: why it will not go.
    var error: String?

    init?(_ outcome: DeliveryOutcome) {
        switch outcome {
        case .confirmed: self.init(status: .pending, error: nil)
        case .rejected(let reason): self.init(status: .rejected, error: "the seller did not take the order: \(reason)")
        case .retry, .deadLetter: return nil
        }
    }

    /// A released shipment's age counts from its release (kept as `redriven_at`), not from
    /// the checkout: a sale confirmed late must not leave its shipment given up on at once.
    func ageFrom(_ now: Int64) -> Int64? { status == .pending ? now : nil }

    init(status: OutboxDelivery.Status, error: String?) {
        self.status = status
        self.error = error
    }
}
