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
        /// Absent in rooms saved before money was counted.
        var sales: SalesFigures?
        /// The returns counted lately, oldest first (absent before returns were counted).
        var returns: [String]?
    }

    public var saved: Saved {
        Saved(
            peakViewers: peakViewers, chatMessages: chatMessages, questionsAsked: questionsAsked, questionsAnswered: questionsAnswered,
            checkoutsByProduct: checkoutsByProduct.mapValues { .init(checkouts: $0.checkouts, units: $0.units) }, checkoutsByCode: checkoutsByCode,
            ordersByProduct: ordersByProduct.mapValues { .init(confirmed: $0.confirmed, failed: $0.failed) },
            ordersByCode: ordersByCode.mapValues { .init(confirmed: $0.confirmed, failed: $0.failed) },
            ordersConfirmed: ordersConfirmed, ordersFailed: ordersFailed, sales: sales, returns: returnsCounted
        )
    }

    public init(restoring saved: Saved) {
        self.init()
        let clamp: (Int) -> Int = SavedValues.clamp
        peakViewers = clamp(saved.peakViewers)
        chatMessages = clamp(saved.chatMessages)
        questionsAsked = clamp(saved.questionsAsked)
        questionsAnswered = clamp(saved.questionsAnswered)
        checkoutsByProduct = saved.checkoutsByProduct.prefix(Self.maxKeys).reduce(into: [:]) { $0[$1.key] = (clamp($1.value.checkouts), SavedValues.clamp($1.value.units)) }
        checkoutsByCode = saved.checkoutsByCode.prefix(Self.maxKeys).reduce(into: [:]) { $0[$1.key] = clamp($1.value) }
        ordersByProduct = saved.ordersByProduct.prefix(Self.maxKeys).reduce(into: [:]) { $0[$1.key] = (clamp($1.value.confirmed), clamp($1.value.failed)) }
        ordersByCode = saved.ordersByCode.prefix(Self.maxKeys).reduce(into: [:]) { $0[$1.key] = (clamp($1.value.confirmed), clamp($1.value.failed)) }
        ordersConfirmed = clamp(saved.ordersConfirmed)
        ordersFailed = clamp(saved.ordersFailed)
        sales = saved.sales.map(SalesFigures.init(restoring:)) ?? SalesFigures()
        for key in (saved.returns ?? []).suffix(Self.maxReturnsRemembered) { _ = rememberReturn(key) }
    }
}
