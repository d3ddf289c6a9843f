import NIOConcurrencyHelpers

/// The embedded default: confirms every order after a short delay, and accepts every
/// buyer's request, so that a newcomer sees the whole loop without any merchant system. Like a real merchant it
/// has one order per idempotency key: the reference is derived from the checkout and
/// merchant, so a redelivery gets the same one without the backend remembering it.
public final class DemoOrderBackend: OrderBackend {
    public let name: String
    private let delay: Duration
    /// The latest orders, for tests and inspection; bounded (the gateway runs for weeks).
    private let recent = NIOLockedValueBox<(orders: [String: String], order: [String])>(([:], []))
    public static let recentOrdersKept = 10_000

    /// What the demo merchant does with a buyer's request it received: accept it, a
    /// moment later (as a merchant's system would, with `order.update`).
    private let answer: (@Sendable (BuyerRequest) async -> Void)?

    public init(name: String = "demo", delay: Duration = .milliseconds(300), answer: (@Sendable (BuyerRequest) async -> Void)? = nil) {
        self.name = name
        self.delay = delay
        self.answer = answer
    }

    public func deliver(_ delivery: OutboxDelivery) async -> BackendResult {
        if delay > .zero { try? await Task.sleep(for: delay) }
        var reference = "DEMO-\(delivery.merchant)-\(delivery.checkoutID)"
        if let request = delivery.request {
            reference += "-\(request.id)"
            // Once per request: a redelivery is not a second answer.
            if let answer, recent.withLockedValue({ $0.orders[delivery.idempotencyKey] == nil }) {
                let delay = delay
                Task {
                    try? await Task.sleep(for: delay)
                    await answer(request)
                }
            }
        }
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
