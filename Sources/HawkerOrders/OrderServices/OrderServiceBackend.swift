import NIOCore

/// The backend of a merchant whose order services connect over WebSocket.
public struct OrderServiceBackend: OrderBackend {
    public let merchant: String
    public let registry: OrderServiceRegistry
    public let visibilityTimeout: TimeAmount

    public init(merchant: String, registry: OrderServiceRegistry, visibilityTimeout: TimeAmount) {
        self.merchant = merchant
        self.registry = registry
        self.visibilityTimeout = visibilityTimeout
    }

    public var name: String { "order_service:\(merchant)" }

    public var isReachableHere: Bool { registry.consumerCount(merchant: merchant) > 0 }

    public func deliver(_ delivery: OutboxDelivery) async -> BackendResult {
        await registry.deliver(delivery, attempt: delivery.attempts + 1, visibilityTimeout: visibilityTimeout)
    }
}
