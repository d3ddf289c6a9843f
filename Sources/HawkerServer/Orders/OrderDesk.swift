import CoreMetrics
import Foundation
import HawkerCluster
import HawkerCommerce
import HawkerHub
import HawkerOrders
import HawkerProtocol
import Logging
import NIOCore
import ServiceLifecycle

/// The orders layer, put together: the durable outbox, the relay to merchants' backends,
/// and the three desks the connections talk to (checkouts, buyers' notices, order
/// services). Wiring only; what each part does is in its own type.
///
/// The outbox is the SQLite file in the data directory, or with `orders.outbox_url` a
/// PostgreSQL one shared by a cluster's nodes; then buyers' notices are announced over
/// the cluster, since a buyer may be connected to any node.
final class OrderDesk: Sendable {
    let checkouts: CheckoutDesk
    let notices: BuyerNotices
    /// Influencers' funnels (visits, add-to-carts), written beside their earnings.
    let funnel: FunnelRecorder
    let orderServices: OrderServiceDesk
    private let outbox: any Outbox
    let relay: OrderRelay
    /// The orders configuration: merchants' backends are built from it.
    let configuration: OrdersConfiguration
    /// How demo merchants (`serve --demo`, the default backend) answer buyers' requests.
    let demoAnswers: OrderBackends.DemoAnswers
    private let metrics: GatewayMetrics
    /// Backends' own services (PostgreSQL pools) that must run beside the relay.
    private let backendServices: [any Service]
    let clock: @Sendable () -> Int64
    /// Where returned units go back into stock.
    private let inventory: InventoryLedger?
    /// Where the host's figures and flash sales learn of units taken back.
    private let streams: any StreamEngine
    private let logger: Logger
    private let announced: AsyncStream<OrderNotice>

    init(
        configuration: OrdersConfiguration, outboxPath: String, streams: any StreamEngine, inventory: InventoryLedger?, cluster: ClusterEngine?,
        merchants: MerchantDirectory? = nil, metrics: GatewayMetrics, tracing: OrderTracing = .off, logger: Logger
    ) throws {
        self.configuration = configuration
        self.inventory = inventory
        self.streams = streams
        self.logger = logger
        let outbox: any Outbox
        var backendServices: [any Service] = []
        if let url = configuration.sharedOutboxURL {
            guard cluster != nil else {
                throw ConfigurationError(description: "orders.outbox_url is the outbox a cluster's nodes share: set cluster.redis_url too")
            }
            let shared = try PostgresOutbox(url: url, schema: configuration.sharedOutboxSchema, logger: logger)
            outbox = shared
            backendServices.append(shared)
        } else {
            try FileManager.default.createDirectory(atPath: (outboxPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            outbox = try SQLiteOutbox(path: outboxPath)
        }
        let clock: @Sendable () -> Int64 = { streams.now }
        let registry = OrderServiceRegistry()
        let demoAnswers = OrderBackends.DemoAnswers()
        let (routes, services) = try OrderBackends.make(configuration, orderServices: registry, demoAnswers: demoAnswers, logger: logger)
        backendServices += services
        // On a shared outbox, a notice one node stores may be for a buyer on another.
        let announce: @Sendable (OrderNotice) -> Void =
            if let cluster, outbox.isShared { { notice in cluster.announce(JSONText.encode(notice.json)) } } else { { _ in } }
        let notices = BuyerNotices(outbox: outbox, perConnection: configuration.noticesPerConnection, clock: clock, announce: announce)
        // Other nodes' notices, sent to the sessions here in order by one task (past 10,000
        // waiting the oldest go: they are in the outbox, for the buyer's next connection).
        let (announced, announcedContinuation) = AsyncStream.makeStream(of: OrderNotice.self, bufferingPolicy: .bufferingNewest(10_000))
        if let cluster, outbox.isShared {
            cluster.onAnnouncement { payload in
                guard let value = try? JSONParser.parse(payload), let notice = OrderNotice(json: value) else { return }
                announcedContinuation.yield(notice)
            }
        }
        self.announced = announced
        let checkouts = CheckoutDesk(
            streams: streams, inventory: inventory, outbox: outbox, notices: notices, metrics: metrics, tracing: tracing, logger: logger)
        let relay = OrderRelay(
            outbox: outbox,
            routes: routes,
            policy: configuration.retry,
            breaker: CircuitBreaker(threshold: configuration.breakerThreshold, cooldownMilliseconds: configuration.breakerCooldownMilliseconds),
            maxInFlight: configuration.maxInFlight,
            claimMilliseconds: configuration.claimMilliseconds,
            clock: clock,
            onOutcome: { delivery, outcome, notice in await checkouts.settled(delivery, outcome, notice: notice) },
            tracing: tracing
        )
        self.checkouts = checkouts
        self.notices = notices
        self.funnel = FunnelRecorder(outbox: outbox, logger: logger)
        self.orderServices = OrderServiceDesk(
            registry: registry, outbox: outbox, relay: relay, configuration: configuration,
            backend: { merchant in merchants?.backend(of: merchant) ?? configuration.merchants[merchant] }, clock: clock, logger: logger)
        self.outbox = outbox
        self.relay = relay
        self.metrics = metrics
        self.backendServices = backendServices
        self.clock = clock
        self.demoAnswers = demoAnswers
        // A demo merchant accepts every request: the units come back as they would with
        // a merchant's `order.update` naming the request.
        demoAnswers.set { [weak self] request in
            guard let self, let restock = OrderStatusUpdate.Reversal.statuses[request.kind.acceptingStatus] else { return }
            let update = OrderStatusUpdate(
                checkoutID: request.checkoutID, status: request.kind.acceptingStatus, note: "accepted by the demo merchant",
                reversal: OrderStatusUpdate.Reversal(id: request.id, items: nil, restock: restock), requestID: request.id)
            if case .failure(let refusal) = await self.update(update, merchant: request.merchant) {
                self.logger.notice("the demo merchant could not accept a request", metadata: ["checkout": "\(request.checkoutID)", "refusal": "\(refusal)"])
            }
        }
    }

    /// Runs the relay, the backends' services and the outbox gauges until cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            // First the pools (a shared outbox's among them): what follows reads through them.
            for service in backendServices {
                group.addTask { try? await service.run() }
            }
            await notices.restore()
            group.addTask { try? await self.relay.run() }
            group.addTask { await self.funnel.run() }
            if outbox.isShared {
                group.addTask {
                    for await notice in self.announced { await self.notices.received(notice) }
                }
                // Another node's notice whose announcement was lost is found here.
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(5))
                        await self.notices.restore()
                    }
                }
            }
            group.addTask {
                var counted = (commits: 0, writes: 0)
                while !Task.isCancelled {
                    if let depth = try? await self.outbox.depth() {
                        self.metrics.outboxPending.record(depth.pending)
                        self.metrics.outboxDeadLetters.record(depth.deadLettered)
                    }
                    // Commits against writes: how well group commit batches a storm.
                    let (commits, writes) = await self.outbox.commitCounts()
                    self.metrics.outboxCommits.increment(by: commits - counted.commits)
                    self.metrics.outboxWrites.increment(by: writes - counted.writes)
                    counted = (commits, writes)
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    // MARK: - Operators

    /// What `influencer`'s codes earned (`Outbox.earnings`).
    func earnings(of influencer: String, since: Int64, until: Int64, bucketMilliseconds: Int64) async throws -> EarningsReport {
        try await outbox.earnings(of: influencer, since: since, until: until, bucketMilliseconds: bucketMilliseconds)
    }

    /// Why a merchant's status update was refused.
    enum UpdateRefusal: Error, Sendable {
        case unknownCheckout
        case invalid(String)
        case unavailable
    }

    /// A merchant's `order.update` (or `POST /v1/orders/{id}/status`): told to the buyer.
    /// `cancelled` and `returned` also take units back, once per `return_id`: the
    /// influencers' commission on them (in the same commit), and the stock where the
    /// merchant says so (put back once: a retry after a failure finishes it).
    func update(_ update: OrderStatusUpdate, merchant: String) async -> Result<Void, UpdateRefusal> {
        if update.reversal != nil || update.requestID != nil, let seller = update.seller, seller != merchant {
            return .failure(.invalid("this merchant ships this order for '\(seller)': the seller cancels or takes it back, and answers its buyer's requests"))
        }
        if update.status == OrderStatusUpdate.declinedStatus, let requestID = update.requestID {
            return await decline(update, requestID: requestID, merchant: merchant)
        }
        guard let request = update.reversal, let kind = PartReversal.Kind(rawValue: update.status) else {
            switch await notices.statusUpdate(update, merchant: merchant) {
            case .posted: return .success(())
            case .unknownCheckout: return .failure(.unknownCheckout)
            case .ambiguous(let sellers):
                return .failure(.invalid("this merchant has parts of \(sellers.joined(separator: ", ")) in this order: name the one it is about ('seller')"))
            case .sellerOnly:
                return .failure(.invalid("'\(update.status)' is the seller's to say: a supplier reports its shipment's progress (packed, shipped, delivered...)"))
            case .unavailable: return .failure(.unavailable)
            }
        }
        let now = clock()
        var noticeBody = update.body
        noticeBody["merchant"] = .string(merchant)
        noticeBody["at"] = .int(now)
        noticeBody["return_id"] = .string(request.id)
        noticeBody["restocked"] = .bool(request.restock)
        let reversal = PartReversal(
            checkoutID: update.checkoutID, merchant: merchant, id: request.id, kind: kind,
            items: request.items, restock: request.restock,
            noticeBody: noticeBody, request: update.requestID)
        let record: ReversalRecord
        do {
            switch try await outbox.reverse(reversal, now: now) {
            case .success(let recorded): record = recorded
            case .failure(.unknownPart):
                // A supplier ships: the seller takes back what it sold.
                if let parts = try? await outbox.deliveries(of: update.checkoutID), parts.contains(where: { $0.merchant == merchant && $0.isShipment }) {
                    return .failure(.invalid("this merchant ships this order for its seller: the seller cancels or takes it back"))
                }
                return .failure(.unknownCheckout)
            case .failure(.notConfirmed): return .failure(.invalid("only a confirmed order is cancelled or returned: this one is not (yet)"))
            case .failure(.invalid(let message)): return .failure(.invalid(message))
            }
        } catch {
            logger.error("could not record a return", metadata: ["checkout": "\(update.checkoutID)", "error": "\(error)"])
            return .failure(.unavailable)
        }
        // Stored with the return: sent to the buyer's sessions now (and kept for later ones).
        if let notice = record.notice { await notices.post(notice) }
        if let notice = record.requestNotice { await notices.post(notice) }
        // Counted once, by the request that recorded it (not by its retries). A crash in
        // between leaves the stream's figures without it: they are a live view, the
        // influencers' earnings (committed with the return) are the record.
        if !record.replayed { streams.returned(record.taken(checkoutID: update.checkoutID, merchant: merchant, returnID: request.id), on: record.stream) }
        if record.restockDue {
            let taken = record.units.sorted { $0.key < $1.key }.compactMap { index, quantity in
                record.lines.indices.contains(index) ? (line: record.lines[index], quantity: quantity) : nil
            }
            // Marked first: a crash in between leaves the units out (never in twice: no
            // overselling); a refusal unmarks it for the merchant's retry.
            // Only the request that marks it puts the units back (a retry racing the first
            // finds it marked).
            let claimed: Bool
            do {
                claimed = try await outbox.markRestocked(checkoutID: update.checkoutID, merchant: merchant, id: request.id, restocked: true)
            } catch {
                return .failure(.unavailable)
            }
            // Back in stock at once; if the state store is slow to hold it, the merchant is
            // asked to send it again (its retry finds the return done, the units put back).
            if claimed, await restock(taken, merchant: merchant) == .storing {
                return .failure(.unavailable)
            }
        }
        return .success(())
    }

    /// A merchant declines a buyer's request (`declined` naming it, with a note).
    private func decline(_ update: OrderStatusUpdate, requestID: String, merchant: String) async -> Result<Void, UpdateRefusal> {
        do {
            switch try await outbox.declineRequest(checkoutID: update.checkoutID, merchant: merchant, id: requestID, note: update.note, now: clock()) {
            case .success(let notice):
                if let notice { await notices.post(notice) }
                return .success(())
            case .failure(.invalid(let message)): return .failure(.invalid(message))
            case .failure: return .failure(.unknownCheckout)
            }
        } catch {
            logger.error("could not record a declined request", metadata: ["checkout": "\(update.checkoutID)", "error": "\(error)"])
            return .failure(.unavailable)
        }
    }

    /// Why a buyer's request was not taken.
    struct RequestRefusal: Error, Sendable {
        var code: ErrorCode
        var message: String
    }

    /// A buyer's `order.request` (or `POST /v1/me/orders/{id}/requests`): stored for the
    /// relay to deliver to the seller; the merchant answers with `order.update`.
    func request(_ request: OrderRequest, buyer: String) async -> Result<BuyerRequest, RequestRefusal> {
        let placed: Result<BuyerRequest.Placed, BuyerRequest.Refusal>
        do {
            placed = try await outbox.request(request, buyer: buyer, now: clock())
        } catch {
            logger.error("could not record a buyer's request", metadata: ["checkout": "\(request.checkoutID)", "error": "\(error)"])
            return .failure(RequestRefusal(code: .unavailable, message: "the request could not be recorded; send it again"))
        }
        switch placed {
        case .success(let stored):
            return .success(stored.request)
        case .failure(let refusal):
            let (code, message): (ErrorCode, String) =
                switch refusal {
                case .unknownOrder: (.unknownCheckout, "you have no checkout '\(request.checkoutID)'")
                case .unknownPart: (.unknownCheckout, "checkout '\(request.checkoutID)' has no order of merchant '\(request.merchant)'")
                case .notConfirmed: (.requestRefused, "the merchant has not confirmed this order (yet): nothing to cancel or return")
                case .shipped: (.requestRefused, "the merchant has shipped this order: ask for a return instead")
                case .tooMany: (.limitReached, "at most \(BuyerRequest.maxPerPart) requests per order")
                case .idInUse: (.requestRefused, "request_id '\(request.id)' was used for another request of this order")
                case .invalid(let message): (.requestRefused, message)
                }
            return .failure(RequestRefusal(code: code, message: message))
        }
    }

    /// The reply to a request (`order.request`, the HTTP endpoint): the request with its
    /// checkout and merchant.
    static func requestReply(_ request: BuyerRequest) -> [String: JSONValue] {
        var body = request.json.objectValue ?? [:]
        body["checkout_id"] = .string(request.checkoutID)
        body["merchant"] = .string(request.merchant)
        return body
    }

    /// Whether returned units are in the state store yet.
    private enum Restocked {
        case stored
        /// In the inventory, not yet in the store (it is away): they will be.
        case storing
    }

    /// How long a restock waits for the state store before answering `unavailable`.
    static let restockWait: Duration = .seconds(10)

    /// Puts units back into the merchant's stock, where it is tracked (a product without
    /// stock is not limited); returns once the state store holds it, or after
    /// `restockWait` (`storing`).
    private func restock(_ taken: [(line: Reservation.Line, quantity: Int64)], merchant: String) async -> Restocked {
        guard let inventory else { return .stored }
        var units: [SKU: Int64] = [:]
        for (line, quantity) in taken {
            // At most 1,000 units a line, of at most 50 lines.
            units[SKU(merchant: merchant, product: line.product, variant: line.variant), default: 0] += quantity
        }
        let once = FirstAnswer()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Restocked, Never>) in
            let timer = Task {
                try? await Task.sleep(for: Self.restockWait)
                if once.take() { continuation.resume(returning: .storing) }
            }
            inventory.restock(units) {
                timer.cancel()
                if once.take() { continuation.resume(returning: .stored) }
            }
        }
    }

    /// `buyer`'s orders, newest first, as `order.history` and `GET /v1/me/orders` answer:
    /// `{orders, next_after?}`.
    func history(of buyer: String, after: String?, limit: Int) async throws -> [String: JSONValue] {
        let page = try await outbox.history(of: buyer, after: after, limit: limit)
        var body: [String: JSONValue] = ["orders": .array(page.orders.map(\.json))]
        // A full page may have more after it.
        if let next = page.nextAfter { body["next_after"] = .string(next) }
        return body
    }

    /// Orders given up on, oldest first.
    func deadLetters(limit: Int) async throws -> [OutboxDelivery] {
        try await outbox.deadLetters(limit: limit)
    }

    /// Sends a dead-lettered order again; false when there is no such dead letter.
    /// Its units were offered again when it failed; if it is confirmed now, they leave on
    /// hand then (`CheckoutDesk.settled`).
    func redrive(checkoutID: String, party: Party) async throws -> Bool {
        try await outbox.redrive(checkoutID: checkoutID, party: party, now: clock())
    }

    /// Checkouts the restored rooms may have missed (accepted, or settled, after a room's
    /// last save, and the orders still on their way) go to them. Returns how many.
    func restoreCheckouts(into hub: Hub) async throws -> Int {
        guard let since = try await hub.earliestRoomSave() else { return 0 }
        let stored = try await outbox.checkouts(touchedSince: since, limit: Self.maxRestoredCheckouts)
        try await hub.restoreCheckouts(
            stored.map { checkout in
                RestoredCheckout(
                    reservation: checkout.reservation, stream: checkout.stream,
                    parts: checkout.parts.map { part in
                        let confirmed: Bool? =
                            switch part.status {
                            case .pending, .held: nil
                            case .confirmed: true
                            case .rejected, .deadLettered: false
                            }
                        return RestoredCheckout.Part(merchant: part.merchant, confirmed: confirmed, updatedAt: part.updatedAt, redriven: part.redriven)
                    })
            })
        return stored.count
    }

    /// Checkouts read back at start at most (the rooms hold at most as many on their way).
    static let maxRestoredCheckouts = StreamRoom.maxHeldCheckouts

    // MARK: - Restart

    /// Squares the inventory's holds with the outbox after a restart (a `kill -9` may fall
    /// between the two): a hold whose checkout never reached the outbox is given back, one
    /// whose order settled meanwhile is settled now. Returns how many holds changed.
    func reconcile(_ inventory: InventoryLedger) async throws -> Int {
        var changed = 0
        // Orders on their way without a hold (a store from before holds were kept): held.
        // Not re-driven ones: their units were offered again at their dead letter, and
        // leave on hand only if they are confirmed (`CheckoutDesk.settled`).
        // Suppliers' shipments hold no stock: their seller's sale does.
        for delivery in try await outbox.due(now: .max, limit: 1_000_000) where delivery.redrivenAt == nil && !delivery.isShipment {
            inventory.holdAccepted(delivery.checkoutID, merchant: delivery.merchant, delivery.units)
        }
        for (checkoutID, merchant) in inventory.openReservations {
            let deliveries = try await outbox.deliveries(of: checkoutID)
            guard let delivery = deliveries.first(where: { $0.merchant == merchant && !$0.isShipment }) else {
                inventory.settle(checkoutID, merchant: merchant, confirmed: false)
                changed += 1
                continue
            }
            switch delivery.status {
            case .pending, .held:
                continue
            case .confirmed:
                inventory.settle(checkoutID, merchant: merchant, confirmed: true)
            case .rejected, .deadLettered:
                inventory.settle(checkoutID, merchant: merchant, confirmed: false)
            }
            changed += 1
        }
        return changed
    }

    // MARK: - Retention

    /// Deletes settled orders and notices past `retentionMilliseconds`, then starts the
    /// set of buyers with notices waiting over from the outbox.
    func prune(retentionMilliseconds: Int64) async throws -> (checkouts: Int, notices: Int) {
        let pruned = try await outbox.prune(before: clock() - retentionMilliseconds)
        await notices.restore()
        return pruned
    }
}
