import CoreMetrics
import Foundation
import HawkerAuth
import HawkerCommerce
import HawkerHub
import HawkerOrders
import HawkerProtocol
import Logging
import NIOCore
import ServiceLifecycle

/// Where checkouts become orders: reserves in the stream's room, records in the durable
/// outbox before anyone hears "accepted", relays to each merchant's backend, and brings
/// the results back to the buyer (live sessions, or stored until the next connection).
final class OrderDesk: Sendable {
    let outbox: SQLiteOutbox
    let relay: OrderRelay
    let buyers: BuyerSessions
    let orderServices: OrderServiceRegistry
    private let streams: any StreamEngine
    private let metrics: GatewayMetrics
    private let logger: Logger
    private let configuration: OrdersConfiguration
    /// Backends' own services (PostgreSQL pools) that must run beside the relay.
    private let backendServices: [any Service]

    init(configuration: OrdersConfiguration, outboxPath: String, streams: any StreamEngine, metrics: GatewayMetrics, logger: Logger) throws {
        try FileManager.default.createDirectory(atPath: (outboxPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let outbox = try SQLiteOutbox(path: outboxPath)
        let buyers = BuyerSessions()
        let orderServices = OrderServiceRegistry()
        var byMerchant: [String: any OrderBackend] = [:]
        for (merchant, backend) in configuration.merchants {
            let timeout = TimeAmount.milliseconds(Int64(backend.timeoutMilliseconds))
            switch backend.kind {
            case .demo:
                byMerchant[merchant] = DemoOrderBackend(name: "demo:\(merchant)", delay: .milliseconds(configuration.demoDelayMilliseconds))
            case .webhook:
                byMerchant[merchant] = WebhookOrderBackend(merchant: merchant, url: backend.url ?? "", secret: backend.secret ?? "", timeout: timeout)
            case .postgres:
                byMerchant[merchant] = try PostgresOrderBackend(
                    merchant: merchant, url: backend.postgresURL ?? "", timeout: .milliseconds(backend.timeoutMilliseconds), logger: logger
                )
            case .orderService:
                byMerchant[merchant] = OrderServiceBackend(
                    merchant: merchant, registry: orderServices, visibilityTimeout: .milliseconds(Int64(backend.visibilityTimeoutMilliseconds))
                )
            }
        }
        let fallback: (any OrderBackend)? = switch configuration.defaultBackend {
        case .demo: DemoOrderBackend(delay: .milliseconds(configuration.demoDelayMilliseconds))
        case .none: nil
        }
        let onOutcome = Self.outcomeHandler(streams: streams, buyers: buyers, outbox: outbox, metrics: metrics, logger: logger)
        self.relay = OrderRelay(
            outbox: outbox,
            routes: .init(byMerchant: byMerchant, fallback: fallback),
            policy: configuration.retry,
            breaker: CircuitBreaker(threshold: configuration.breakerThreshold, cooldownMilliseconds: configuration.breakerCooldownMilliseconds),
            maxInFlight: configuration.maxInFlight,
            clock: { streams.now },
            onOutcome: onOutcome
        )
        self.outbox = outbox
        self.buyers = buyers
        self.orderServices = orderServices
        self.streams = streams
        self.metrics = metrics
        self.logger = logger
        self.configuration = configuration
        self.backendServices = byMerchant.values.compactMap(\.service)
    }

    /// Runs the relay, the backends' services and the outbox gauges until cancelled.
    func run() async {
        if let waiting = try? await outbox.buyersWithUndeliveredNotices() { buyers.noticesMayWait(for: waiting) }
        await withDiscardingTaskGroup { group in
            for service in backendServices {
                group.addTask { try? await service.run() }
            }
            group.addTask { try? await self.relay.run() }
            group.addTask {
                var counted = (commits: 0, writes: 0)
                while !Task.isCancelled {
                    if let depth = try? await self.outbox.depth() {
                        self.metrics.outboxPending.record(depth.pending)
                        self.metrics.outboxDeadLetters.record(depth.deadLettered)
                    }
                    // Commits against writes: how well group commit batches a storm.
                    let (commits, writes) = (await self.outbox.commits, await self.outbox.writes)
                    self.metrics.outboxCommits.increment(by: commits - counted.commits)
                    self.metrics.outboxWrites.increment(by: writes - counted.writes)
                    counted = (commits, writes)
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    // MARK: - Checkout

    /// Reserves, records durably, then answers: `checkout.accepted` only once the outbox
    /// commit is on disk. A replayed key answers after that commit too (the first one may
    /// still be in flight). The room's part runs on the event loops (inline when the
    /// stream's home is the session's loop); only an accepted checkout goes through
    /// Swift concurrency, to the outbox.
    func checkout(_ request: CheckoutRequest, buyer: String, stream: StreamID, re: String, on eventLoop: any EventLoop) -> EventLoopFuture<ServerMessage> {
        let started = NIODeadline.now()
        let metrics = self.metrics
        return streams.checkout(request, buyer: buyer, checkoutID: "ck_" + RandomID.hex16(), on: stream)
            .hop(to: eventLoop)
            .flatMap { outcome -> EventLoopFuture<ServerMessage> in
                switch outcome.result {
                case .failure(let rejection):
                    metrics.checkouts(.rejected)
                    return eventLoop.makeSucceededFuture(.error(.init(
                        re: re, code: ErrorCode(rawValue: rejection.reason.rawValue) ?? .invalidCheckout, message: rejection.message,
                        product: rejection.product, currentPrice: rejection.currentPrice, available: rejection.available
                    )))
                case .success(let reservation):
                    return eventLoop.makeFutureWithTask {
                        await self.record(reservation, replayed: outcome.replayed, stream: stream, re: re)
                    }
                }
            }
            .recover { error in
                metrics.checkouts(.rejected)
                return .error(.init(failure: error, re: re, stream: stream))
            }
            .always { _ in metrics.checkoutLatency.recordNanoseconds((NIODeadline.now() - started).nanoseconds) }
    }

    /// Appends an accepted reservation to the outbox and answers.
    private func record(_ reservation: Reservation, replayed: Bool, stream: StreamID, re: String) async -> ServerMessage {
        do {
            let stored = try await outbox.append(reservation, stream: stream.rawValue)
            let isOlder = stored.checkoutID != reservation.checkoutID
            if isOlder {
                // The same buyer and key were recorded before a restart: that checkout stands.
                streams.abandon(reservation, on: stream)
            }
            metrics.checkouts(replayed || isOlder ? .replayed : .accepted)
            return .reply(type: .checkoutAccepted, re: re, body: Self.acceptedBody(stored, stream: stream, replayed: replayed || isOlder))
        } catch {
            if !replayed { streams.abandon(reservation, on: stream) }
            metrics.checkouts(.unavailable)
            logger.error("could not record a checkout", metadata: ["checkout": "\(reservation.checkoutID)", "error": "\(error)"])
            return .error(.init(re: re, code: .unavailable, message: "the checkout could not be recorded and nothing was reserved; retry with the same idempotency_key", retryAfterMilliseconds: 1_000))
        }
    }

    static func acceptedBody(_ reservation: Reservation, stream: StreamID, replayed: Bool) -> [String: JSONValue] {
        return [
            "stream": .string(stream.rawValue),
            "checkout_id": .string(reservation.checkoutID),
            "items": .array(reservation.lines.map(\.json)),
            // Checked when reserved; a stored row that does not add up reads as no totals.
            "totals": .array((reservation.totals ?? []).map { ["currency": .string($0.currency), "amount": .int($0.amount)] }),
            "merchants": .array(reservation.merchants.map { .string($0) }),
            "replayed": .bool(replayed),
        ]
    }

    // MARK: - Results to buyers

    private static func outcomeHandler(
        streams: any StreamEngine, buyers: BuyerSessions, outbox: SQLiteOutbox, metrics: GatewayMetrics, logger: Logger
    ) -> @Sendable (OutboxDelivery, DeliveryOutcome, OrderNotice?) async -> Void {
        { delivery, outcome, notice in
            let stream = StreamID(delivery.stream)
            switch outcome {
            case .confirmed:
                metrics.orders(.confirmed)
                if let stream { streams.settle(checkoutID: delivery.checkoutID, merchant: delivery.merchant, confirmed: true, on: stream) }
            case .rejected(let reason):
                metrics.orders(.rejected)
                logger.notice("order rejected", metadata: ["checkout": "\(delivery.checkoutID)", "merchant": "\(delivery.merchant)", "reason": "\(reason)"])
                if let stream { streams.settle(checkoutID: delivery.checkoutID, merchant: delivery.merchant, confirmed: false, on: stream) }
            case .deadLetter(let reason):
                metrics.orders(.deadLettered)
                logger.error(
                    "order dead-lettered",
                    metadata: ["checkout": "\(delivery.checkoutID)", "merchant": "\(delivery.merchant)", "attempts": "\(delivery.attempts)", "reason": "\(reason)"]
                )
                if let stream { streams.settle(checkoutID: delivery.checkoutID, merchant: delivery.merchant, confirmed: false, on: stream) }
            case .retry(_, let error):
                metrics.orders(.retried)
                logger.debug("order delivery failed; will retry", metadata: ["checkout": "\(delivery.checkoutID)", "merchant": "\(delivery.merchant)", "error": "\(error)"])
            }
            if let notice { await push(notice, to: buyers, outbox: outbox) }
        }
    }

    /// Sends a notice to every live session of its buyer; once one has written it, it is
    /// no longer kept for the next connection.
    private static func push(_ notice: OrderNotice, to buyers: BuyerSessions, outbox: SQLiteOutbox) async {
        // Marked first: a session that connects meanwhile reads it from the outbox.
        buyers.noticesMayWait(for: notice.buyer)
        var written = false
        for session in buyers.sessions(of: notice.buyer) {
            if (try? await session.send(notice.message).get()) != nil { written = true }
        }
        if written, let id = notice.id { try? await outbox.markDelivered([id]) }
    }

    /// A buyer's session started: it receives live results from now on, and first what
    /// earlier results no session of theirs has been sent.
    func buyerConnected(_ session: SessionHandle, buyer: String) async {
        buyers.add(session, buyer: buyer)
        guard buyers.takeWaiting(buyer) else { return }
        guard let notices = try? await outbox.undeliveredNotices(for: buyer, limit: 500) else {
            buyers.noticesMayWait(for: buyer)
            return
        }
        if notices.count == 500 { buyers.noticesMayWait(for: buyer) }
        var delivered: [Int64] = []
        for notice in notices where (try? await session.send(notice.message).get()) != nil {
            if let id = notice.id { delivered.append(id) }
        }
        if delivered.count < notices.count { buyers.noticesMayWait(for: buyer) }
        do {
            try await outbox.markDelivered(delivered)
        } catch {
            buyers.noticesMayWait(for: buyer)
        }
    }

    func buyerDisconnected(_ id: ObjectIdentifier, buyer: String) {
        buyers.remove(id, buyer: buyer)
    }

    // MARK: - Order services

    /// An order service subscribes, step one: the reply's body and, with `since`, the
    /// settled orders to send again as replays (after the reply).
    func orderServiceSubscription(merchant: String, since: Int64?) async -> (reply: [String: JSONValue], replays: [ServerMessage]) {
        let backend = configuration.merchants[merchant]
        if backend?.kind != .orderService {
            logger.warning("an order service subscribed for a merchant whose backend is not order_service", metadata: ["merchant": "\(merchant)"])
        }
        var replays: [OutboxDelivery] = []
        if let since { replays = (try? await outbox.settled(merchant: merchant, since: since, limit: 10_000)) ?? [] }
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
            return .push(type: .orderRequested, stream: StreamID(delivery.stream) ?? StreamID("unknown")!, body: body)
        }
        return (reply, messages)
    }

    /// Step two, once the reply went out (so that no `order.requested` precedes it): the
    /// connection takes deliveries, and the merchant's pending ones are due now.
    func orderServiceReady(_ session: SessionHandle, merchant: String) {
        orderServices.add(session, merchant: merchant)
        Task {
            await relay.resetBreaker(for: "order_service:\(merchant)")
            try? await outbox.expedite(merchant: merchant, now: streams.now)
        }
    }

    /// A status update from `merchant` for one of its orders: kept and sent to the buyer.
    func statusUpdate(_ update: OrderStatusUpdate, merchant: String) async -> Bool {
        guard let part = try? await outbox.deliveries(of: update.checkoutID).first(where: { $0.merchant == merchant }) else { return false }
        var body = update.body
        body["merchant"] = .string(merchant)
        body["at"] = .int(streams.now)
        var notice = OrderNotice(buyer: part.buyer, checkoutID: part.checkoutID, stream: part.stream, type: .orderStatus, body: body, createdAt: streams.now)
        guard let id = try? await outbox.addNotice(notice) else { return false }
        notice.id = id
        await Self.push(notice, to: buyers, outbox: outbox)
        return true
    }
}
