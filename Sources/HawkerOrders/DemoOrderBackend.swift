import NIOConcurrencyHelpers

/// The embedded default: confirms every order after a short delay, so that a newcomer
/// sees the whole checkout loop without any merchant system. Like a real merchant it
/// keeps one order per idempotency key: a redelivery gets the same reference.
public final class DemoOrderBackend: OrderBackend {
    public let name: String
    private let delay: Duration
    private let orders = NIOLockedValueBox<[String: String]>([:])

    public init(name: String = "demo", delay: Duration = .milliseconds(300)) {
        self.name = name
        self.delay = delay
    }

    public func deliver(_ delivery: OutboxDelivery) async -> BackendResult {
        if delay > .zero { try? await Task.sleep(for: delay) }
        let reference = orders.withLockedValue { orders in
            if let known = orders[delivery.idempotencyKey] { return known }
            let reference = "DEMO-\(delivery.merchant)-\(orders.count + 1)"
            orders[delivery.idempotencyKey] = reference
            return reference
        }
        return .confirmed(reference: reference)
    }

    /// The orders it holds, by idempotency key (for tests and the demo's log).
    public var ordersByKey: [String: String] { orders.withLockedValue { $0 } }
}
