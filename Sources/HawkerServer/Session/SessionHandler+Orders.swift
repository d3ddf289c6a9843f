import HawkerCommerce
import HawkerHub
import HawkerOrders
import HawkerProtocol
import NIOCore

/// A session's order commands: a buyer's `checkout`, and an order service's
/// `orders.subscribe`, `ack` and `order.update`.
extension SessionHandler {
    func checkout(id: String, stream: StreamID, request: CheckoutRequest, buyer: String, context: ChannelHandlerContext) {
        guard let orders = services.orders else {
            send(.error(.init(re: id, code: .unavailable, message: "this gateway takes no checkouts")))
            return
        }
        guard merchantsAreLoaded(re: id) else { return }
        if let wait = services.quotas.take(.checkouts, by: buyer) {
            let limit = services.quotas.limits.checkoutsPerMinute
            send(.error(.init(re: id, code: .rateLimited, message: "at most \(limit) checkouts per minute", retryAfterMilliseconds: wait)))
            return
        }
        orders.checkouts.checkout(request, buyer: buyer, stream: stream, re: id, on: context.eventLoop)
            .assumeIsolated()
            .whenSuccess { [self] reply in send(reply) }
    }

    /// A node that has not read the shared merchants yet would price without their
    /// shipping and tax: it answers `unavailable` instead.
    private func merchantsAreLoaded(re id: String) -> Bool {
        guard let merchants = services.merchants, !merchants.directory.isLoaded else { return true }
        send(.error(.init(re: id, code: .unavailable, message: "the merchants are not loaded yet; try again", retryAfterMilliseconds: 1_000)))
        return false
    }

    /// `quote`: what a cart costs delivered somewhere, and which products ship there
    /// (PROTOCOL.md §6.23).
    func quote(id: String, stream: StreamID, request: QuoteRequest, context: ChannelHandlerContext) {
        guard merchantsAreLoaded(re: id) else { return }
        services.streams.quote(request, on: stream)
            .hop(to: context.eventLoop)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(.success(let quote)):
                    var body = quote.json
                    body["stream"] = .string(stream.rawValue)
                    send(.reply(type: .quote, re: id, body: body))
                case .success(.failure(let rejection)):
                    send(.error(.init(rejection, re: id)))
                case .success(nil):
                    send(.error(.init(failure: HubError.streamNotFound, re: id, stream: stream)))
                case .failure(let error):
                    send(.error(.init(failure: error, re: id, stream: stream)))
                }
            }
    }

    /// `order.history`: the buyer's own orders, newest first (PROTOCOL.md §6.24).
    func orderHistory(id: String, after: String?, limit: Int, buyer: String, context: ChannelHandlerContext) {
        guard let orders = services.orders else {
            send(.error(.init(re: id, code: .unavailable, message: "this gateway takes no checkouts")))
            return
        }
        context.eventLoop.makeFutureWithTask { try await orders.history(of: buyer, after: after, limit: limit) }
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let body): send(.reply(type: .orderHistory, re: id, body: body))
                case .failure: send(.error(.init(re: id, code: .unavailable, message: "the orders could not be read; try again", retryAfterMilliseconds: 1_000)))
                }
            }
    }

    /// `order.request`: the buyer asks the seller to cancel or take back units of their
    /// order (PROTOCOL.md §6.25); the reply says it is on its way, `order.request.status`
    /// pushes what becomes of it.
    func orderRequest(id: String, _ request: OrderRequest, buyer: String, context: ChannelHandlerContext) {
        guard let orders = services.orders else {
            send(.error(.init(re: id, code: .unavailable, message: "this gateway takes no checkouts")))
            return
        }
        context.eventLoop.makeFutureWithTask { await orders.request(request, buyer: buyer) }
            .assumeIsolated()
            .whenSuccess { [self] result in
                switch result {
                case .success(let stored): send(.reply(type: .orderRequest, re: id, body: OrderDesk.requestReply(stored)))
                case .failure(let refusal):
                    send(.error(.init(re: id, code: refusal.code, message: refusal.message, retryAfterMilliseconds: refusal.code == .unavailable ? 1_000 : nil)))
                }
            }
    }

    /// `referral`: a ticket proving when the viewer arrived through a code's link, for
    /// their checkouts within the referral window, or the ticket a returning viewer kept
    /// (PROTOCOL.md §6.17). Either way the session remembers the code for its funnel, and
    /// counts a visit in `stream`.
    func referral(id: String, _ request: ReferralRequest, stream: StreamID?) {
        guard let affiliates = services.affiliates else {
            send(.error(.init(re: id, code: .unavailable, message: "this gateway takes no checkouts")))
            return
        }
        // A node that has not read the shared codes yet knows none: not "unknown".
        guard affiliates.directory.isLoaded else {
            send(.error(.init(re: id, code: .unavailable, message: "the codes are not loaded yet; try again", retryAfterMilliseconds: 1_000)))
            return
        }
        let now = services.streams.now
        let answer =
            switch request {
            case .code(let code): affiliates.directory.referral(code, now: now)
            case .ticket(let ticket): affiliates.directory.presented(ticket, now: now)
            }

        switch answer {
        case .success(let referral):
            if identity?.holdsQuota == true {
                identity?.referredBy = referral.code
                identity?.visitDue = stream
                if let stream, watches(stream) { countVisit(stream) }
            }
            send(
                .reply(
                    type: .referral, re: id,
                    body: ["code": .string(referral.code), "ticket": .string(referral.ticket), "expires_at": .int(min(referral.expiresAt, JSONValue.maxSafeInteger))]))
        case .failure(.codeNotActive):
            send(.error(.init(re: id, code: .codeNotActive, message: "\(Self.named(request)) is not active (revoked, or outside its validity)")))
        case .failure(.referralExpired):
            send(.error(.init(re: id, code: .referralExpired, message: "this ticket is past the referral window: follow a link again")))
        case .failure(.invalidReferral):
            send(.error(.init(re: id, code: .invalidReferral, message: "this is not a ticket this gateway issued")))
        case .failure:
            send(.error(.init(re: id, code: .unknownCode, message: "\(Self.named(request)) is not registered")))
        }
    }

    /// The code a referral names, for its refusals.
    private static func named(_ request: ReferralRequest) -> String {
        switch request {
        case .code(let code): "code '\(code)'"
        case .ticket: "the code of this ticket"
        }
    }

    /// A referred viewer watches `stream` (its subscription is active): a visit in its
    /// code's funnel, if the code applies there.
    func countVisit(_ stream: StreamID) {
        identity?.visitDue = nil
        guard let code = identity?.referredBy, let viewer = identity?.subject, let funnel = services.orders?.funnel, let affiliates = services.affiliates
        else { return }
        let now = services.streams.now
        guard let influencer = affiliates.directory.funnelOwner(of: code, stream: stream, now: now) else { return }
        funnel.visit(code: code, influencer: influencer, stream: stream, viewer: viewer, now: now)
    }

    /// A referred viewer's add-to-cart the room took: counted in its code's funnel.
    func countAddToCart(_ product: String, stream: StreamID) {
        guard let code = identity?.referredBy, let viewer = identity?.subject, let funnel = services.orders?.funnel, let affiliates = services.affiliates
        else { return }
        let now = services.streams.now
        guard let influencer = affiliates.directory.funnelOwner(of: code, stream: stream, now: now) else { return }
        funnel.addToCart(code: code, influencer: influencer, stream: stream, viewer: viewer, product: product, now: now)
    }

    func orderCommand(id: String, _ command: OrderCommand, merchant: String, context: ChannelHandlerContext) {
        switch command {
        case .setInventory, .inventory:
            inventoryCommand(id: id, command, merchant: merchant, context: context)
            return
        case .subscribe, .ack, .update:
            break
        }
        guard let orders = services.orders else {
            send(.error(.init(re: id, code: .unavailable, message: "this gateway relays no orders")))
            return
        }
        switch command {
        case .subscribe(let since):
            identity?.isOrderService = true
            let session = SessionHandle(self, eventLoop: context.eventLoop)
            context.eventLoop.makeFutureWithTask { await orders.orderServices.subscription(merchant: merchant, since: since) }
                .assumeIsolated()
                .whenSuccess { [self] subscribed in
                    send(.reply(type: .ordersSubscribed, re: id, body: subscribed.reply), flush: false)
                    for replay in subscribed.replays { send(replay, flush: false) }
                    flushSoon(context: context)
                    // A connection that closed meanwhile must not be registered after its teardown.
                    if phase != .tornDown { orders.orderServices.ready(session, merchant: merchant) }
                }
        case .ack(let delivery, let result):
            if orders.orderServices.acknowledge(delivery, by: ObjectIdentifier(self), result: result) {
                send(.reply(type: .acked, re: id, body: ["delivery": .string(delivery)]))
            } else {
                send(
                    .error(
                        .init(
                            re: id, code: .unknownDelivery,
                            message: "no delivery '\(delivery)' is waiting for this connection's ack (unknown, already acknowledged, or past its visibility timeout: it will come again)")))
            }
        case .update(let update):
            context.eventLoop.makeFutureWithTask { await orders.update(update, merchant: merchant) }
                .assumeIsolated()
                .whenSuccess { [self] result in
                    switch result {
                    case .success:
                        send(.reply(type: .orderUpdated, re: id, body: ["checkout_id": .string(update.checkoutID)]))
                    case .failure(.unknownCheckout):
                        send(.error(.init(re: id, code: .unknownCheckout, message: "no checkout '\(update.checkoutID)' has an order of merchant '\(merchant)'")))
                    case .failure(.invalid(let message)):
                        send(.error(.init(re: id, code: .badRequest, message: message)))
                    case .failure(.unavailable):
                        send(.error(.init(re: id, code: .unavailable, message: "the update could not be recorded; send it again", retryAfterMilliseconds: 1_000)))
                    }
                }
        case .setInventory, .inventory:
            break
        }
    }

    /// `inventory.set` and `inventory.get`: the merchant's own stock.
    private func inventoryCommand(id: String, _ command: OrderCommand, merchant: String, context: ChannelHandlerContext) {
        guard let desk = services.inventory else {
            send(.error(.init(re: id, code: .unavailable, message: "this gateway keeps no inventory")))
            return
        }
        switch command {
        case .setInventory(let update):
            context.eventLoop.makeFutureWithTask { await desk.apply(update, merchant: merchant) }
                .assumeIsolated()
                .whenSuccess { [self] result in
                    switch result {
                    case .success(let levels): send(.reply(type: .inventory, re: id, body: levels.objectValue ?? [:]))
                    case .failure(let refusal): send(.error(.init(re: id, code: refusal.code, message: refusal.message)))
                    }
                }
        case .inventory(let products):
            send(.reply(type: .inventory, re: id, body: desk.levels(merchant: merchant, products: products).objectValue ?? [:]))
        case .subscribe, .ack, .update:
            break
        }
    }
}
