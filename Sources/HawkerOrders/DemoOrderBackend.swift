import NIOConcurrencyHelpers

/// The embedded default: confirms every order after a short delay, so that a newcomer
/// sees the whole checkout loop without any merchant system.
public struct DemoOrderBackend: OrderBackend {
    public let name = "demo"
    private let delay: Duration
    private let counter = NIOLockedValueBox(0)

    public init(delay: Duration = .milliseconds(300)) {
        self.delay = delay
    }

    public func deliver(_ delivery: OutboxDelivery) async -> BackendResult {
        try? await Task.sleep(for: delay)
        let number = counter.withLockedValue { value in
            value += 1
            return value
        }
        return .confirmed(reference: "DEMO-\(delivery.merchant)-\(number)")
    }
}
