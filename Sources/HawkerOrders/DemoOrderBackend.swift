import NIOConcurrencyHelpers

/// The embedded default: confirms every order after a short delay, so that a newcomer
/// sees the whole checkout loop without any merchant system. Like a real merchant it
/// has one order per idempotency key: the reference is derived from the checkout and
/// merchant, so a redelivery gets the same one without the backend remembering it.
public final class DemoOrderBackend: OrderBackend {
    public let name: String
    private let delay: Duration
    /// The latest orders, for tests and inspection; bounded (the gateway runs for weeks).
    private let recent = NIOLockedValueBox<(orders: [String: String], order: [String])>(([:], []))
    public static let recentOrdersKept = 10_000

    public init(name: String = "demo", delay: Duration = .milliseconds(300)) {
        self.name = name
        self.delay = delay
    }

    public func deliver(_ delivery: OutboxDelivery) async -> BackendResult {
        if delay > .zero { try? await Task.sleep(for: delay) }
        let reference = "DEMO-\(delivery.merchant)-\(delivery.checkoutID)"
        recent.withLockedValue { recent in
            guard recent.orders.updateValue(reference, forKey: delivery.idempotencyKey) == nil else { return }
            recent.order.append(delivery.idempotencyKey)
            if recent.order.count > Self.recentOrdersKept {
                recent.orders[recent.order.removeFirst()] = nil
            }
        }
        return .confirmed(reference: reference)
    }

    /// The latest orders it confirmed, by idempotency key.
    public var ordersByKey: [String: String] { recent.withLockedValue { $0.orders } }
}
