extension Insights {
    /// The lifetime counters, for a restart (the current viewer count is not: viewers
    /// come back by reconnecting).
    public struct Saved: Sendable, Hashable, Codable {
        struct CheckoutCount: Sendable, Hashable, Codable {
            var checkouts: Int
            var units: Int64
        }

        struct OrderCount: Sendable, Hashable, Codable {
            var confirmed: Int
            var failed: Int
        }

        var peakViewers: Int
        var chatMessages: Int
        var questionsAsked: Int
        var questionsAnswered: Int
        var checkoutsByProduct: [String: CheckoutCount]
        var checkoutsByCode: [String: Int]
        var ordersByProduct: [String: OrderCount]
        var ordersByCode: [String: OrderCount]
        var ordersConfirmed: Int
        var ordersFailed: Int
    }

    public var saved: Saved {
        Saved(
            peakViewers: peakViewers, chatMessages: chatMessages, questionsAsked: questionsAsked, questionsAnswered: questionsAnswered,
            checkoutsByProduct: checkoutsByProduct.mapValues { .init(checkouts: $0.checkouts, units: $0.units) }, checkoutsByCode: checkoutsByCode,
            ordersByProduct: ordersByProduct.mapValues { .init(confirmed: $0.confirmed, failed: $0.failed) },
            ordersByCode: ordersByCode.mapValues { .init(confirmed: $0.confirmed, failed: $0.failed) },
            ordersConfirmed: ordersConfirmed, ordersFailed: ordersFailed
        )
    }

    public init(restoring saved: Saved) {
        self.init()
        peakViewers = saved.peakViewers
        chatMessages = saved.chatMessages
        questionsAsked = saved.questionsAsked
        questionsAnswered = saved.questionsAnswered
        checkoutsByProduct = saved.checkoutsByProduct.mapValues { ($0.checkouts, $0.units) }
        checkoutsByCode = saved.checkoutsByCode
        ordersByProduct = saved.ordersByProduct.mapValues { ($0.confirmed, $0.failed) }
        ordersByCode = saved.ordersByCode.mapValues { ($0.confirmed, $0.failed) }
        ordersConfirmed = saved.ordersConfirmed
        ordersFailed = saved.ordersFailed
    }
}
