import HawkerOrders
import HawkerProtocol
import Logging
import NIOCore

/// Merchants' order services connected over WebSocket: their subscription (with replays
/// of settled orders), the deliveries they take and acknowledge, and their departure.
struct OrderServiceDesk: Sendable {
    let registry: OrderServiceRegistry
    private let outbox: any Outbox
    private let relay: OrderRelay
    private let configuration: OrdersConfiguration
    /// The merchant's backend in force (configured or registered at run time).
    private let backend: @Sendable (String) -> MerchantBackendConfiguration?
    private let clock: @Sendable () -> Int64
    private let logger: Logger

    init(
        registry: OrderServiceRegistry, outbox: any Outbox, relay: OrderRelay, configuration: OrdersConfiguration,
        backend: @escaping @Sendable (String) -> MerchantBackendConfiguration?, clock: @escaping @Sendable () -> Int64, logger: Logger
    ) {
        self.backend = backend
        self.registry = registry
        self.outbox = outbox
        self.relay = relay
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
    }

    /// Step one of `orders.subscribe`: the reply's body and, with `since`, the settled
    /// orders to send again as replays (after the reply), at most `orders.max_replays`.
    func subscription(merchant: String, since: Int64?) async -> (reply: [String: JSONValue], replays: [ServerMessage]) {
        let backend = self.backend(merchant)
        if backend?.kind != .orderService {
            logger.warning("an order service subscribed for a merchant whose backend is not order_service", metadata: ["merchant": "\(merchant)"])
        }
        var replays: [OutboxDelivery] = []
        if let since { replays = (try? await outbox.settled(merchant: merchant, since: since, limit: configuration.maxReplays)) ?? [] }
        let reply: [String: JSONValue] = [
            "merchant": .string(merchant),
            "visibility_timeout_ms": .int(Int64(backend?.visibilityTimeoutMilliseconds ?? MerchantBackendConfiguration().visibilityTimeoutMilliseconds)),
            "replayed": .int(Int64(replays.count)),
        ]
        let messages = replays.map { delivery -> ServerMessage in
            var body = delivery.payload
            body["delivery"] = .string(OrderServiceRegistry.replayPrefix + RandomID.hex16())
            body["attempt"] = .int(Int64(delivery.attempts))
            body["replay"] = true
            return .push(type: .orderRequested, stream: delivery.stream, body: body)
        }
        return (reply, messages)
    }

    /// Step two, once the reply went out (so that no `order.requested` precedes it): the
    /// connection takes deliveries, and the merchant's pending ones are due now.
    func ready(_ session: SessionHandle, merchant: String) {
        registry.add(session, merchant: merchant)
        Task {
            await relay.resetBreaker(for: "order_service:\(merchant)")
            try? await outbox.expedite(merchant: merchant, now: clock())
        }
    }

    /// An `ack`; false when the delivery is unknown, expired or was sent to another
    /// connection.
    func acknowledge(_ delivery: String, by session: ObjectIdentifier, result: OrderAcknowledgement) -> Bool {
        registry.acknowledge(delivery, by: session, result: result)
    }

    /// The connection closed: what it held goes back to the relay.
    func disconnected(_ session: ObjectIdentifier) {
        registry.remove(session)
    }
}
