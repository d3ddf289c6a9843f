import HawkerOrders
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Each merchant's order backend, built from configuration: the wiring of the orders
/// layer, apart from what the backends do.
enum OrderBackends {
    /// How demo merchants answer buyers' requests: set once the orders layer that records
    /// the answer exists (it is built after its backends).
    final class DemoAnswers: Sendable {
        private let handler = Mutex<(@Sendable (BuyerRequest) async -> Void)?>(nil)

        func set(_ answer: @escaping @Sendable (BuyerRequest) async -> Void) {
            handler.withLock { $0 = answer }
        }

        func answer(_ request: BuyerRequest) async {
            await handler.withLock { $0 }?(request)
        }
    }

    /// The relay's routes, and the backends' own services (PostgreSQL pools) that must
    /// run beside it.
    static func make(
        _ configuration: OrdersConfiguration, orderServices: OrderServiceRegistry, demoAnswers: DemoAnswers, logger: Logger
    ) throws -> (routes: OrderRelay.Routes, services: [any Service]) {
        var byMerchant: [String: any OrderBackend] = [:]
        for (merchant, backend) in configuration.merchants {
            byMerchant[merchant] = try Self.backend(
                for: merchant, backend, configuration: configuration, orderServices: orderServices, demoAnswers: demoAnswers, logger: logger)
        }
        let fallback: (any OrderBackend)? =
            switch configuration.defaultBackend {
            case .demo: DemoOrderBackend(delay: .milliseconds(configuration.demoDelayMilliseconds), answer: demoAnswers.answer)
            case .none: nil
            }
        return (OrderRelay.Routes(byMerchant: byMerchant, fallback: fallback), byMerchant.values.compactMap(\.service))
    }

    /// One merchant's backend; nil for the default (kind nil).
    static func backend(
        for merchant: String, _ backend: MerchantBackendConfiguration, configuration: OrdersConfiguration, orderServices: OrderServiceRegistry,
        demoAnswers: DemoAnswers, logger: Logger
    ) throws -> (any OrderBackend)? {
        let timeout = TimeAmount.milliseconds(Int64(backend.timeoutMilliseconds))
        switch backend.kind {
        case nil:
            return nil
        case .demo:
            return DemoOrderBackend(name: "demo:\(merchant)", delay: .milliseconds(configuration.demoDelayMilliseconds), answer: demoAnswers.answer)
        case .webhook:
            return WebhookOrderBackend(merchant: merchant, url: backend.url ?? "", secret: backend.secret ?? "", timeout: timeout)
        case .postgres:
            return try PostgresOrderBackend(merchant: merchant, url: backend.postgresURL ?? "", timeout: .milliseconds(backend.timeoutMilliseconds), logger: logger)
        case .orderService:
            return OrderServiceBackend(
                merchant: merchant, registry: orderServices, visibilityTimeout: .milliseconds(Int64(backend.visibilityTimeoutMilliseconds)))
        }
    }
}
