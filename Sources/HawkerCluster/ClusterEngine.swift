import HawkerCommerce
import HawkerHub
import HawkerProtocol
import HawkerRedis
import HawkerState
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// The `StreamEngine` of a cluster node: the streams of every node behind one seam.
///
/// Each stream runs on one node at a time, the holder of its lease in Redis: there its
/// events are sequenced and stored (in Redis, fenced by the lease's token), its room
/// ticks, its checkouts reserve. Every other node with viewers of the stream mirrors it
/// (`Hub.follow`): it subscribes once to the stream's channel, on which the store
/// publishes each kept event in the same script that keeps it, and fans those out to
/// its own viewers; publishes, commands and checkouts it gets go to the running node
/// over `ClusterBus`, and the answers come back to the sender.
///
/// The first node to need a stream that nobody runs takes its lease. Leases are renewed
/// every third of their time; a node that cannot renew (or whose write Redis fenced off)
/// goes back to mirroring. A node mirroring a stream whose lease lapsed (its node died)
/// takes it over from what Redis keeps, its own viewers staying where they are.
public final class ClusterEngine: StreamEngine {
    /// What this node is to a stream it knows.
    enum Role: Sendable {
        /// This node runs it, under this lease.
        case owning(StreamLease)
        /// This node holds the lease and is loading the stream to run it; requests for it
        /// wait until it runs.
        case adopting(StreamLease)
        /// Becoming a mirror: subscribed to the channel, loading; messages wait here.
        case loading(buffered: [StreamChannelMessage])
        /// A mirror of the stream `owner` runs.
        case following(owner: String)
    }

    /// Where an operation on a stream runs.
    private enum Route {
        case here
        case mirrored(owner: String)
    }

    /// The node's streams, run here and mirrored.
    public let hub: Hub
    public let journal: StateJournal
    public let store: RedisStateStore
    public let bus: ClusterBus
    public let configuration: ClusterConfiguration
    private let redis: any Redis
    private let leases: RedisStreamLeases
    private let logger: Logger
    private let eventLoop: any EventLoop
    private let roles: NIOLockedValueBox<[StreamID: Role]>
    /// Per stream, the last role change under way: the next one runs after it.
    private let transitions = NIOLockedValueBox<[StreamID: (id: UInt64, tail: Task<Void, Never>)]>([:])
    private let nextTransition = Atomic<UInt64>(0)
    private let fenced: AsyncStream<[StreamID]>
    private let fencedContinuation: AsyncStream<[StreamID]>.Continuation
    private let pushes: AsyncStream<(StreamID, StreamPush)>
    private let pushContinuation: AsyncStream<(StreamID, StreamPush)>.Continuation
    private let counters = Mutex(ClusterStatistics())
    /// SKUs whose level here fell behind Redis's (a hold refused): synced at once.
    private let staleStock: NIOLockedValueBox<Set<SKU>>
    /// Told of what other nodes announce (`announce`).
    private let announcements = NIOLockedValueBox<(@Sendable (ByteBuffer) -> Void)?>(nil)
    /// What this node announces, published in order by one task (past 10,000 waiting, the
    /// oldest go: announcements are at most once).
    private let outgoing: AsyncStream<ByteBuffer>
    private let outgoingContinuation: AsyncStream<ByteBuffer>.Continuation

    public init(
        loops: [any EventLoop],
        hubConfiguration: HubConfiguration = HubConfiguration(),
        observer: (any HubObserver)? = nil,
        ownership: (any StreamOwnership)? = nil,
        redis: any Redis,
        configuration: ClusterConfiguration,
        logger: Logger,
        clock: @escaping @Sendable () -> Int64 = Hub.systemClock
    ) {
        self.redis = redis
        self.configuration = configuration
        self.logger = logger
        self.eventLoop = loops[0]
        let roles = NIOLockedValueBox<[StreamID: Role]>([:])
        self.roles = roles
        (fenced, fencedContinuation) = AsyncStream.makeStream(of: [StreamID].self, bufferingPolicy: .unbounded)
        // Pushes are live counters and batches: past this many waiting, the oldest go.
        (pushes, pushContinuation) = AsyncStream.makeStream(of: (StreamID, StreamPush).self, bufferingPolicy: .bufferingNewest(4_096))
        (outgoing, outgoingContinuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingNewest(10_000))
        let fencedContinuation = self.fencedContinuation
        let pushContinuation = self.pushContinuation
        // The hub's stock, known once the hub is made (after the store it writes to).
        let ledger = NIOLockedValueBox<InventoryLedger?>(nil)
        let behind = NIOLockedValueBox<Set<SKU>>([])
        self.staleStock = behind
        let store = RedisStateStore(
            redis: redis, prefix: configuration.prefix,
            cluster: RedisStateStore.ClusterWrites(
                lease: { stream in
                    roles.withLockedValue { roles in
                        switch roles[stream] {
                        case .owning(let lease), .adopting(let lease): return lease
                        case .loading, .following, nil: return nil
                        }
                    }
                },
                fencedOff: { streams in fencedContinuation.yield(streams) },
                holdsRefused: { holds in
                    // Sold on another node: those checkouts fail, and the levels here are
                    // brought back to Redis's at the next stock round.
                    guard let skus = ledger.withLockedValue({ $0 })?.refuse(holds) else { return }
                    behind.withLockedValue { $0.formUnion(skus) }
                }
            ))
        self.store = store
        self.journal = StateJournal(store: store) { error in
            logger.error("the cluster's state store failed; retrying", metadata: ["error": "\(error)"])
        }
        var hubConfiguration = hubConfiguration
        hubConfiguration.unstoredEventsGoOut = false
        let hub = Hub(
            loops: loops, configuration: hubConfiguration, observer: observer, ownership: ownership, journal: journal, clock: clock,
            onPush: { stream, push in pushContinuation.yield((stream, push)) })
        self.hub = hub
        ledger.withLockedValue { $0 = hub.inventory }
        self.leases = RedisStreamLeases(redis: redis, prefix: configuration.prefix)
        self.bus = ClusterBus(node: configuration.node, redis: redis, prefix: configuration.prefix, eventLoop: loops[0], timeout: configuration.forwardTimeout)
    }

    public var now: Int64 { hub.now }

    /// What this node runs and mirrors, and what it did, for metrics and tests.
    public var statistics: ClusterStatistics {
        var statistics = counters.withLock { $0 }
        roles.withLockedValue { roles in
            statistics.owned = 0
            statistics.mirrored = 0
            for role in roles.values {
                switch role {
                case .owning, .adopting: statistics.owned += 1
                case .loading, .following: statistics.mirrored += 1
                }
            }
        }
        statistics.redisAvailable = redis.isAvailable
        return statistics
    }

    /// Whether Redis can be reached now: without it nothing can be stored or forwarded.
    public var isRedisAvailable: Bool { redis.isAvailable }

    /// The node that runs `stream`, as this node knows it (nil: none known).
    public func owner(of stream: StreamID) -> String? {
        switch roles.withLockedValue({ $0[stream] }) {
        case .owning: return configuration.node
        case .following(let owner): return owner.isEmpty ? nil : owner
        case .adopting, .loading, nil: return nil
        }
    }

    // MARK: - Running

    /// Takes Redis's messages: this node's inbox for the bus, the streams' channels for
    /// the mirrors, and the client's connection events.
    public func attach(to client: RedisClient) {
        let inbox = bus.inbox
        let broadcast = broadcastChannel
        client.setHandlers(
            onMessage: { [weak self] message in
                guard let self else { return }
                if message.channel == inbox {
                    self.bus.receive(message.payload)
                } else if message.channel == broadcast {
                    self.received(announcement: message.payload)
                } else {
                    self.receive(message)
                }
            },
            onEvent: { [weak self] event in self?.redisEvent(event) }
        )
    }

    /// Serves requests from other nodes, keeps the leases, hands room pushes to the mirrors
    /// and steps back from fenced-off streams, until cancelled. Call `leave` before.
    public func run() async {
        bus.serve { [weak self] body in
            guard let self else { return ClusterReply.failed(.runsElsewhere).encoded }
            return await self.serve(body)
        }
        // While Redis is away the client subscribes them on its next connection.
        try? await redis.subscribe([bus.inbox, broadcastChannel], sharded: false)
        await withDiscardingTaskGroup { group in
            group.addTask { await self.renewLeases() }
            group.addTask { await self.maintain() }
            group.addTask { await self.syncStock() }
            group.addTask { await self.publishPushes() }
            group.addTask {
                for await message in self.outgoing {
                    _ = try? await self.redis.send(RedisCommand("PUBLISH", [.string(self.broadcastChannel), .bytes(message)]))
                }
            }
            group.addTask {
                for await streams in self.fenced {
                    for stream in streams { await self.stepBack(from: stream) }
                }
            }
            // Cancelled: the streams above end with it.
            await withTaskCancellationHandler {
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3_600)) }
            } onCancel: {
                self.fencedContinuation.finish()
                self.pushContinuation.finish()
                self.outgoingContinuation.finish()
            }
        }
    }

    /// Leaving the cluster (graceful shutdown, after the last connection): every room run
    /// here saved and every event stored, then the leases given up, so that the other
    /// nodes take the streams over at once instead of after the lease time.
    public func leave() async {
        await hub.saveAndFlush()
        let owned = roles.withLockedValue { roles in
            roles.compactMap { stream, role -> (StreamID, StreamLease)? in
                switch role {
                case .owning(let lease), .adopting(let lease): return (stream, lease)
                case .loading, .following: return nil
                }
            }
        }
        for (stream, lease) in owned { try? await leases.release(stream, lease) }
        roles.withLockedValue { $0.removeAll() }
        try? await store.close()
    }

    // MARK: - Events

    public func publish(_ draft: EventDraft, to stream: StreamID, creator: StreamCreator) -> EventLoopFuture<PublishReceipt> {
        if isRunHere(stream) {
            guard redis.isAvailable else { return eventLoop.makeFailedFuture(HubError.storeBehind) }
            return hub.publish(draft, to: stream, creator: creator)
        }
        return eventLoop.makeFutureWithTask {
            switch try await self.route(stream, create: true) {
            case .here:
                return try await self.hub.publish(draft, to: stream, creator: creator).get()
            case .mirrored(let owner):
                guard case .published(let receipt) = try await self.forward(.publish(draft, stream: stream, creator: creator), to: owner) else {
                    throw HubError.runsElsewhere
                }
                return receipt
            }
        }
    }

    public func perform(_ action: StreamAction, by author: Author, on stream: StreamID) -> EventLoopFuture<RoomOutcome> {
        if isRunHere(stream) { return hub.perform(action, by: author, on: stream) }
        return eventLoop.makeFutureWithTask {
            switch try await self.route(stream, create: false) {
            case .here:
                return try await self.hub.perform(action, by: author, on: stream).get()
            case .mirrored(let owner):
                switch try await self.forward(.perform(action, author: author, stream: stream), to: owner) {
                case .outcome(let outcome): return outcome
                // A command that published (`question.answer`) answers with where it landed.
                case .published(let receipt): return .published(receipt)
                default: throw HubError.runsElsewhere
                }
            }
        }
    }

    // MARK: - Checkout

    public func checkout(_ request: CheckoutRequest, buyer: String, checkoutID: String, on stream: StreamID) -> EventLoopFuture<StreamRoom.CheckoutOutcome> {
        if isRunHere(stream) {
            guard redis.isAvailable else { return eventLoop.makeFailedFuture(HubError.storeBehind) }
            return hub.checkout(request, buyer: buyer, checkoutID: checkoutID, on: stream)
        }
        return eventLoop.makeFutureWithTask {
            switch try await self.route(stream, create: false) {
            case .here:
                return try await self.hub.checkout(request, buyer: buyer, checkoutID: checkoutID, on: stream).get()
            case .mirrored(let owner):
                let request = ClusterRequest.checkout(request, buyer: buyer, checkoutID: checkoutID, stream: stream)
                do {
                    guard case .checkout(let outcome) = try await self.forward(request, to: owner) else { throw HubError.runsElsewhere }
                    return outcome
                } catch HubError.runsElsewhere {
                    // No answer: it may have been accepted there all the same. Unrecorded
                    // here, it must not hold stock: given back (a no-op if it never ran).
                    // Sent before the buyer hears anything, so that its retry reaches the
                    // stream's node after this (one inbox, in order) and runs afresh.
                    _ = try? await self.bus.notify(ClusterRequest.forgetCheckout(checkoutID: checkoutID, stream: stream).encoded, to: owner)
                    throw HubError.runsElsewhere
                }
            }
        }
    }

    /// The stock goes back in Redis from here, whichever node holds it (the stream may have
    /// moved or ended since); the room's counts go back on the stream's node.
    public func abandon(_ reservation: Reservation, on stream: StreamID) {
        hub.inventory.releaseShared(reservation.checkoutID, merchants: reservation.merchants)
        if isRunHere(stream) { return hub.abandon(reservation, on: stream) }
        background(.abandon(reservation, stream: stream))
    }

    /// Counted on the stream's node (the stock went back through the merchant's inventory).
    public func returned(_ taken: Reservation, on stream: StreamID) {
        if isRunHere(stream) { return hub.returned(taken, on: stream) }
        background(.returned(taken, stream: stream))
    }

    /// The hold ends in Redis from here (see `abandon`); the room counts it on its node.
    public func settle(checkoutID: String, merchant: String, confirmed: Bool, on stream: StreamID) {
        hub.inventory.settleShared(checkoutID, merchant: merchant, confirmed: confirmed)
        if isRunHere(stream) { return hub.settle(checkoutID: checkoutID, merchant: merchant, confirmed: confirmed, on: stream) }
        background(.settle(checkoutID: checkoutID, merchant: merchant, confirmed: confirmed, stream: stream))
    }

    /// Sends what needs no answer to the stream's node, trying again for a while when
    /// the stream is between nodes.
    private func background(_ request: ClusterRequest) {
        Task {
            for attempt in 0..<10 {
                do {
                    switch try await route(request.stream, create: false) {
                    case .here:
                        _ = await run(request)
                    case .mirrored(let owner):
                        _ = try await forward(request, to: owner)
                    }
                    return
                } catch HubError.streamNotFound {
                    return
                } catch {
                    try? await Task.sleep(for: .milliseconds(200 << min(attempt, 4)))
                }
            }
            logger.warning("a settlement did not reach the stream's node", metadata: ["stream": "\(request.stream)"])
        }
    }

    // MARK: - Subscribing

    public func subscribe(_ stream: StreamID, since: StreamPosition?, creator: StreamCreator?, on eventLoop: any EventLoop) -> EventLoopFuture<SubscribeOutcome> {
        if isHeldHere(stream) { return hub.subscribe(stream, since: since, creator: creator, on: eventLoop) }
        return eventLoop.makeFutureWithTask {
            _ = try await self.route(stream, create: creator != nil)
            return try await self.hub.subscribe(stream, since: since, creator: creator, on: eventLoop).get()
        }
    }

    public func activate(_ subscriber: any StreamSubscriber, on stream: StreamID, staff: Bool, eventLoop: any EventLoop) {
        hub.activate(subscriber, on: stream, staff: staff, eventLoop: eventLoop)
    }

    public func unsubscribe(_ subscriber: any StreamSubscriber, from stream: StreamID, eventLoop: any EventLoop) {
        hub.unsubscribe(subscriber, from: stream, eventLoop: eventLoop)
    }

    // MARK: - Reading

    /// The state as the stream's node has it (a mirror's room may lag its counters).
    public func snapshot(of stream: StreamID) -> EventLoopFuture<StreamSnapshot?> {
        if isRunHere(stream) { return hub.snapshot(of: stream) }
        return eventLoop.makeFutureWithTask {
            // A stream nobody runs is taken; an ended one is read from the archive.
            guard case .mirrored(let owner) = try? await self.route(stream, create: false) else { return try await self.hub.snapshot(of: stream).get() }
            guard case .snapshot(let snapshot) = try await self.forward(.snapshot(stream), to: owner) else { throw HubError.runsElsewhere }
            return snapshot
        }
    }

    public func busiestStreams(limit: Int, on eventLoop: any EventLoop) -> EventLoopFuture<[StreamStats]> {
        hub.busiestStreams(limit: limit, on: eventLoop)
    }

    public func insights(of stream: StreamID) -> EventLoopFuture<ByteBuffer?> {
        if isRunHere(stream) { return hub.insights(of: stream) }
        return eventLoop.makeFutureWithTask {
            guard case .mirrored(let owner) = try? await self.route(stream, create: false) else { return try await self.hub.insights(of: stream).get() }
            guard case .insights(let insights) = try await self.forward(.insights(stream), to: owner) else { throw HubError.runsElsewhere }
            return insights
        }
    }

    public func quote(_ request: QuoteRequest, on stream: StreamID) -> EventLoopFuture<Result<Quote, CheckoutRejection>?> {
        if isRunHere(stream) { return hub.quote(request, on: stream) }
        return eventLoop.makeFutureWithTask {
            guard case .mirrored(let owner) = try? await self.route(stream, create: false) else { return try await self.hub.quote(request, on: stream).get() }
            guard case .quote(let result) = try await self.forward(.quote(request, stream: stream), to: owner) else { throw HubError.runsElsewhere }
            return result
        }
    }

    // MARK: - Routing

    private func isRunHere(_ stream: StreamID) -> Bool {
        roles.withLockedValue { roles in
            if case .owning = roles[stream] { return true }
            return false
        }
    }

    /// Run or mirrored here: the hub has it.
    private func isHeldHere(_ stream: StreamID) -> Bool {
        roles.withLockedValue { roles in
            switch roles[stream] {
            case .owning, .following: return true
            case .adopting, .loading, nil: return false
            }
        }
    }

    /// Where `stream` runs, taking it (or mirroring it) first when this node does neither.
    /// `create`: a stream that does not exist yet is taken here to be created.
    private func route(_ stream: StreamID, create: Bool) async throws -> Route {
        for _ in 0..<3 {
            switch roles.withLockedValue({ $0[stream] }) {
            case .owning: return .here
            case .following(let owner) where !owner.isEmpty: return .mirrored(owner: owner)
            case .following, .adopting, .loading, nil: break
            }
            try await transition(stream) { try await self.establish(stream, create: create) }
        }
        throw HubError.runsElsewhere
    }

    /// Takes the stream's lease if nobody holds it (and runs the stream here), else
    /// mirrors it from the store.
    private func establish(_ stream: StreamID, create: Bool) async throws {
        switch roles.withLockedValue({ $0[stream] }) {
        case .owning, .following: return
        case .adopting, .loading, nil: break
        }
        guard redis.isAvailable else { throw HubError.storeBehind }
        switch try await acquire(stream) {
        case .acquired(let lease):
            let stored = try await takeOver(stream, lease: lease)
            if !stored && !create {
                // Nothing to run: the lease goes back at once.
                try? await leases.release(stream, lease)
                roles.withLockedValue { _ = $0.removeValue(forKey: stream) }
                throw HubError.streamNotFound
            }
        case .heldBy(let lease):
            guard try await mirror(stream, owner: lease.node) else {
                // Its node has not stored it yet (it is being created there).
                throw create ? HubError.runsElsewhere : HubError.streamNotFound
            }
        }
    }

    private func acquire(_ stream: StreamID) async throws -> RedisStreamLeases.Outcome {
        do {
            return try await leases.acquire(stream, node: configuration.node, ttlMilliseconds: configuration.leaseMilliseconds)
        } catch let error as RedisError where error.isRetryable {
            throw HubError.storeBehind
        }
    }

    /// Runs the stream here under `lease`, from what the store keeps (a mirror of it
    /// becomes this node's); false when the store has no such stream.
    @discardableResult
    private func takeOver(_ stream: StreamID, lease: StreamLease) async throws -> Bool {
        let wasMirrored = roles.withLockedValue { roles -> Bool in
            defer { roles[stream] = .adopting(lease) }
            if case .following = roles[stream] { return true }
            return false
        }
        do {
            if wasMirrored { try? await redis.unsubscribe([channel(stream)], sharded: false) }
            guard let stored = try await store.load(stream) else {
                _ = try await hub.unfollowIfIdle(stream).get()
                // Nothing to load: it is created here (or the lease goes back).
                roles.withLockedValue { $0[stream] = .owning(lease) }
                return false
            }
            // The room's levels are Redis's (another node sold from them), before it shows them.
            let counts = hub.inventory.changeCounts()
            let stock = try await store.loadStock()
            hub.inventory.sync(stock, skus: Array(Set(stock.keys).union(hub.inventory.trackedSKUs)), counts: counts)
            try await hub.adopt(stored).get()
            roles.withLockedValue { $0[stream] = .owning(lease) }
            if wasMirrored {
                counters.withLock { $0.takeovers += 1 }
                logger.notice("took a stream over", metadata: ["stream": "\(stream)", "lease": "\(lease)"])
            }
            return true
        } catch {
            // Not run here after all: the lease goes back, the next check tries again.
            roles.withLockedValue { $0[stream] = wasMirrored ? .following(owner: "") : nil }
            try? await leases.release(stream, lease)
            throw error
        }
    }

    /// Mirrors the stream `owner` runs: subscribed to its channel first, then loaded, so
    /// that no kept event falls between; false when the store has no such stream.
    /// `reloading`: it is mirrored already (and has viewers here); a failed load keeps it
    /// mirrored and tries again shortly.
    @discardableResult
    private func mirror(_ stream: StreamID, owner: String, reloading: Bool = false) async throws -> Bool {
        roles.withLockedValue { roles in
            if case .loading = roles[stream] { return }
            roles[stream] = .loading(buffered: [])
        }
        do {
            try await redis.subscribe([channel(stream)], sharded: false)
            guard let stored = try await store.load(stream) else {
                roles.withLockedValue { _ = $0.removeValue(forKey: stream) }
                try? await redis.unsubscribe([channel(stream)], sharded: false)
                return false
            }
            try await hub.follow(stored).get()
        } catch {
            if reloading {
                // Redis away (or slow): what it missed comes with the next load.
                roles.withLockedValue { $0[stream] = .following(owner: owner) }
                Task {
                    try? await Task.sleep(for: .milliseconds(500))
                    self.reload(stream)
                }
            } else {
                roles.withLockedValue { _ = $0.removeValue(forKey: stream) }
                try? await redis.unsubscribe([channel(stream)], sharded: false)
            }
            throw (error as? RedisError).map { $0.isRetryable ? HubError.storeBehind : HubError.runsElsewhere } ?? error
        }
        roles.withLockedValue { roles in
            guard case .loading(let buffered) = roles[stream] else { return }
            roles[stream] = .following(owner: owner)
            // Under the lock: in order with the messages that arrive from now on.
            for message in buffered { apply(message, to: stream) }
        }
        return true
    }

    /// This node lost the stream's lease (fenced off, or not renewed): it mirrors it from
    /// now on, as the store keeps it.
    /// `lease`: the one that was lost (nil: whichever this node holds); a lease taken again
    /// since is kept.
    private func stepBack(from stream: StreamID, lease: StreamLease? = nil) async {
        try? await transition(stream) {
            switch self.roles.withLockedValue({ $0[stream] }) {
            case .owning(let current), .adopting(let current):
                guard lease == nil || lease == current else { return }
            case .loading, .following, nil: return
            }
            self.counters.withLock { $0.leasesLost += 1 }
            self.logger.warning("lost a stream's lease: mirroring it", metadata: ["stream": "\(stream)"])
            // Until it mirrors, the room here must not run: tried again while Redis is away.
            for attempt in 0..<60 {
                self.roles.withLockedValue { _ = $0.removeValue(forKey: stream) }
                let holder = try? await self.leases.holder(stream)
                do {
                    try await self.mirror(stream, owner: holder?.node ?? "")
                    return
                } catch {
                    if attempt == 59 { self.logger.error("could not mirror a stream this node lost", metadata: ["stream": "\(stream)", "error": "\(error)"]) }
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
        }
    }

    /// Runs `body` after the role changes of `stream` already under way.
    private func transition<T: Sendable>(_ stream: StreamID, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let id = nextTransition.wrappingAdd(1, ordering: .relaxed).oldValue
        let task = transitions.withLockedValue { transitions -> Task<T, any Error> in
            let previous = transitions[stream]?.tail
            let task = Task {
                await previous?.value
                return try await body()
            }
            transitions[stream] = (id, Task { _ = await task.result })
            return task
        }
        defer {
            transitions.withLockedValue { transitions in
                if transitions[stream]?.id == id { transitions[stream] = nil }
            }
        }
        return try await task.value
    }

    // MARK: - Forwarding

    /// Asks the node running the stream; when it is gone (or no longer runs it), who runs
    /// it now is checked, and the caller hears `runsElsewhere` (retry).
    private func forward(_ request: ClusterRequest, to owner: String) async throws -> ClusterReply {
        counters.withLock { $0.forwarded += 1 }
        let answer: ByteBuffer
        do {
            answer = try await bus.request(request.encoded, to: owner)
        } catch let error as RedisError where error.isRetryable {
            throw HubError.storeBehind
        } catch {
            recheck(request.stream)
            throw HubError.runsElsewhere
        }
        guard let reply = ClusterReply(answer) else { throw HubError.runsElsewhere }
        if case .failed(let error) = reply {
            if error == .runsElsewhere { recheck(request.stream) }
            throw error
        }
        return reply
    }

    /// Answers a request from another node for a stream run here.
    private func serve(_ body: ByteBuffer) async -> ByteBuffer {
        guard let request = ClusterRequest(body) else {
            return ClusterReply.failed(.rejected(RoomError(.internalError, "a request from another node did not read"))).encoded
        }
        if !isRunHere(request.stream) {
            // Being taken over here: answered once it runs.
            try? await transition(request.stream) {}
            guard isRunHere(request.stream) else { return ClusterReply.failed(.runsElsewhere).encoded }
        }
        return await run(request).encoded
    }

    private func run(_ request: ClusterRequest) async -> ClusterReply {
        do {
            switch request {
            case .publish(let draft, let stream, let creator):
                return .published(try await hub.publish(draft, to: stream, creator: creator).get())
            case .perform(let action, let author, let stream):
                return .outcome(try await hub.perform(action, by: author, on: stream).get())
            case .checkout(let checkout, let buyer, let checkoutID, let stream):
                return .checkout(try await hub.checkout(checkout, buyer: buyer, checkoutID: checkoutID, on: stream).get())
            case .abandon(let reservation, let stream):
                hub.abandon(reservation, on: stream)
                return .done
            case .returned(let taken, let stream):
                hub.returned(taken, on: stream)
                return .done
            case .settle(let checkoutID, let merchant, let confirmed, let stream):
                hub.settle(checkoutID: checkoutID, merchant: merchant, confirmed: confirmed, on: stream)
                return .done
            case .forgetCheckout(let checkoutID, let stream):
                hub.forgetCheckout(checkoutID, on: stream)
                return .done
            case .snapshot(let stream):
                return .snapshot(try await hub.snapshot(of: stream).get())
            case .insights(let stream):
                return .insights(try await hub.insights(of: stream).get())
            case .quote(let quote, let stream):
                return .quote(try await hub.quote(quote, on: stream).get())
            }
        } catch let error as HubError {
            return .failed(error)
        } catch {
            return .failed(.runsElsewhere)
        }
    }

    /// The stream's node did not answer as its node: who holds the lease now is asked
    /// (and the stream taken over when nobody does).
    private func recheck(_ stream: StreamID) {
        Task { try? await transition(stream) { try await self.check(stream) } }
    }

    /// For a mirrored stream: takes it over when its lease lapsed, else notes its node.
    private func check(_ stream: StreamID) async throws {
        guard case .following(let known) = roles.withLockedValue({ $0[stream] }) else { return }
        switch try await acquire(stream) {
        case .acquired(let lease):
            try await takeOver(stream, lease: lease)
        case .heldBy(let lease) where lease.node != known:
            roles.withLockedValue { roles in
                if case .following = roles[stream] { roles[stream] = .following(owner: lease.node) }
            }
        case .heldBy:
            break
        }
    }

    // MARK: - Announcements

    /// The channel every node listens on for what concerns the whole cluster.
    private var broadcastChannel: String { configuration.prefix + ":broadcast" }

    /// Tells every other node `payload` (at most once: a node away from Redis misses it).
    /// Used for buyers' order notices, whose buyer may be connected anywhere.
    public func announce(_ payload: ByteBuffer) {
        var message = ByteBuffer()
        message.writeInteger(UInt16(truncatingIfNeeded: configuration.node.utf8.count))
        message.writeString(configuration.node)
        message.writeImmutableBuffer(payload)
        outgoingContinuation.yield(message)
    }

    /// Sets what takes other nodes' announcements.
    public func onAnnouncement(_ handler: @escaping @Sendable (ByteBuffer) -> Void) {
        announcements.withLockedValue { $0 = handler }
    }

    private func received(announcement message: ByteBuffer) {
        var message = message
        guard let length = message.readInteger(as: UInt16.self), let node = message.readString(length: Int(length)),
            node != configuration.node
        else { return }
        announcements.withLockedValue { $0 }?(message)
    }

    // MARK: - Mirrors

    /// A message on a stream's channel.
    private func receive(_ message: RedisMessage) {
        guard let stream = Self.stream(ofChannel: message.channel, prefix: configuration.prefix),
            let decoded = StreamChannelMessage(message.payload.readableBytesView)
        else { return }
        roles.withLockedValue { roles in
            switch roles[stream] {
            case .loading(var buffered):
                // Bounded by what a load takes; a mirror that falls far behind loads again.
                guard buffered.count < 10_000 else { return }
                buffered.append(decoded)
                roles[stream] = .loading(buffered: buffered)
            case .following:
                apply(decoded, to: stream)
            case .owning, .adopting, nil:
                break
            }
        }
    }

    /// Hands a channel message to the mirror. Called under the roles lock, so that messages
    /// reach the hub in the order they came; anything that changes roles runs later.
    private func apply(_ message: StreamChannelMessage, to stream: StreamID) {
        switch message {
        case .event(let event):
            hub.replicate(event, to: stream).whenSuccess { [weak self] outcome in
                switch outcome {
                case .gap: self?.reload(stream)
                case .notFollowed: self?.forget(stream, always: true)
                case .applied, .duplicate: break
                }
            }
        case .push(let push):
            _ = hub.replicate(push, to: stream)
        case .created:
            reload(stream)
        case .ended:
            forget(stream, always: true)
        }
    }

    /// Loads the mirror again (it missed messages, or the stream began again).
    private func reload(_ stream: StreamID) {
        counters.withLock { $0.reloads += 1 }
        Task {
            try? await transition(stream) {
                guard case .following(let owner) = self.roles.withLockedValue({ $0[stream] }) else { return }
                try await self.mirror(stream, owner: owner, reloading: true)
            }
        }
    }

    /// Stops mirroring the stream: it ended (`always`), or no viewer of this node is on
    /// it any more.
    private func forget(_ stream: StreamID, always: Bool) {
        Task {
            try? await transition(stream) {
                guard case .following(let owner) = self.roles.withLockedValue({ $0[stream] }) else { return }
                // Leaving: a subscriber arriving now waits for this change, then mirrors anew.
                self.roles.withLockedValue { $0[stream] = .loading(buffered: []) }
                if always {
                    _ = try? await self.hub.unfollow(stream).get()
                } else if (try? await self.hub.unfollowIfIdle(stream).get()) != true {
                    // Watched again: still mirrored, with what came meanwhile.
                    self.roles.withLockedValue { roles in
                        guard case .loading(let buffered) = roles[stream] else { return }
                        roles[stream] = .following(owner: owner)
                        for message in buffered { self.apply(message, to: stream) }
                    }
                    return
                }
                self.roles.withLockedValue { _ = $0.removeValue(forKey: stream) }
                try? await self.redis.unsubscribe([self.channel(stream)], sharded: false)
            }
        }
    }

    private func redisEvent(_ event: RedisClient.Event) {
        switch event {
        case .resubscribed:
            // Messages may have been missed while the connection was down.
            let mirrored = roles.withLockedValue { roles in roles.compactMap { stream, role in if case .following = role { stream } else { nil } } }
            for stream in mirrored { reload(stream) }
        case .available:
            logger.notice("redis is available")
        case .unavailable:
            logger.warning("redis is unavailable: publishes and checkouts are refused until it is back")
        }
    }

    // MARK: - Leases

    /// Every third of the lease time, all at once: renews the leases of the streams run
    /// here. Its own loop, so that nothing else a round does can delay it past the lease.
    private func renewLeases() async {
        let interval = Duration.milliseconds(max(configuration.leaseMilliseconds / 3, 50))
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled, redis.isAvailable else { continue }
            let owned = roles.withLockedValue { roles in
                roles.compactMap { stream, role -> (stream: StreamID, lease: StreamLease)? in
                    switch role {
                    case .owning(let lease), .adopting(let lease): return (stream, lease)
                    case .loading, .following: return nil
                    }
                }
            }
            // Redis away: renewed at the next round, or fenced off once the lease lapsed.
            guard let lost = try? await leases.renew(owned, ttlMilliseconds: configuration.leaseMilliseconds) else { continue }
            // Apart: stepping back waits for the stream's other changes, never the next renewal.
            for (stream, lease) in owned where lost.contains(stream) { Task { await self.stepBack(from: stream, lease: lease) } }
        }
    }

    /// Every third of the lease time: takes over mirrored streams whose node is gone,
    /// gives up streams that ended here and stops mirroring those without viewers.
    private func maintain() async {
        let interval = Duration.milliseconds(max(configuration.leaseMilliseconds / 3, 50))
        // Candidates seen at the previous round: dropped only when seen twice in a row.
        var endedHere: Set<StreamID> = []
        var unwatched: Set<StreamID> = []
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled, redis.isAvailable else { continue }
            let known = roles.withLockedValue { $0 }
            guard !known.isEmpty, let local = try? await hub.busiestStreams(limit: .max, on: eventLoop).get() else { continue }
            let subscribers = Dictionary(local.map { ($0.stream, $0.subscribers) }, uniquingKeysWith: +)
            var nextEnded: Set<StreamID> = []
            var nextUnwatched: Set<StreamID> = []
            for (stream, role) in known {
                switch role {
                case .owning(let lease):
                    guard subscribers[stream] == nil else { continue }
                    nextEnded.insert(stream)
                    if endedHere.contains(stream) { await giveUp(stream, lease: lease) }
                case .following:
                    if (subscribers[stream] ?? 0) == 0 {
                        nextUnwatched.insert(stream)
                        if unwatched.contains(stream) {
                            forget(stream, always: false)
                            continue
                        }
                    }
                    try? await transition(stream) { try await self.check(stream) }
                case .adopting, .loading:
                    break
                }
            }
            endedHere = nextEnded
            unwatched = nextUnwatched
            await sharePresence(known: known, subscribers: subscribers)
        }
    }

    /// Presence over every node: each node says in Redis how many watch the streams it
    /// mirrors (`p:s:{id}:viewers`, a field per node with its count and clock); each
    /// stream's node adds up the other nodes' fresh counts to its own.
    private func sharePresence(known: [StreamID: Role], subscribers: [StreamID: Int]) async {
        let now = hub.now
        var writes: [RedisCommand] = []
        var owned: [StreamID] = []
        for (stream, role) in known {
            switch role {
            case .following:
                let key = viewersKey(stream)
                writes.append(RedisCommand("HSET", [.string(key), .string(configuration.node), .string("\(subscribers[stream] ?? 0) \(now)")]))
                writes.append(RedisCommand("PEXPIRE", [.string(key), .integer(configuration.leaseMilliseconds * 3)]))
            case .owning:
                owned.append(stream)
            case .adopting, .loading:
                break
            }
        }
        if !writes.isEmpty { _ = try? await redis.pipeline(writes) }
        guard !owned.isEmpty, let replies = try? await redis.pipeline(owned.map { RedisCommand("HGETALL", [.string(viewersKey($0))]) }) else { return }
        for (stream, reply) in zip(owned, replies) {
            var remote = 0
            for pair in reply.pairs ?? [] where pair.key.string != configuration.node {
                let fields = (pair.value.string ?? "").split(separator: " ")
                // A node that stopped saying (dead, or no viewer left) counts no more.
                guard fields.count == 2, let count = Int(fields[0]), let at = Int64(fields[1]), abs(now - at) <= configuration.leaseMilliseconds else { continue }
                remote += max(0, count)
            }
            hub.setRemoteViewers(remote, of: stream)
        }
    }

    private func viewersKey(_ stream: StreamID) -> String {
        configuration.prefix + ":s:{" + stream.rawValue + "}:viewers"
    }

    /// A stream run here left the hub (ended, retired): its lease goes.
    private func giveUp(_ stream: StreamID, lease: StreamLease) async {
        try? await transition(stream) {
            guard case .owning(let current) = self.roles.withLockedValue({ $0[stream] }), current == lease else { return }
            guard try await self.hub.snapshot(of: stream).get() == nil else { return }
            self.roles.withLockedValue { _ = $0.removeValue(forKey: stream) }
            try? await self.leases.release(stream, lease)
        }
    }

    /// Keeps this node's view of the stock near Redis's, which is the authority: all of it
    /// whenever Redis comes (back), the SKUs the streams here show every second (other
    /// nodes sell them too), and at once those whose hold was refused.
    private func syncStock() async {
        var synced = false
        var lastRound = ContinuousClock.now - .seconds(10)
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(50))
            guard redis.isAvailable else {
                synced = false
                continue
            }
            do {
                if !synced {
                    let counts = hub.inventory.changeCounts()
                    let stock = try await store.loadStock()
                    hub.inventory.sync(stock, skus: Array(Set(stock.keys).union(hub.inventory.trackedSKUs)), counts: counts)
                    synced = true
                }
                let stale = staleStock.withLockedValue { stale in
                    defer { stale.removeAll() }
                    return Array(stale)
                }
                if !stale.isEmpty {
                    let counts = hub.inventory.changeCounts()
                    let skipped = hub.inventory.sync(try await store.loadStock(stale), skus: stale, counts: counts)
                    // Changed here meanwhile: once that change is stored.
                    if !skipped.isEmpty { staleStock.withLockedValue { $0.formUnion(skipped) } }
                }
                if ContinuousClock.now - lastRound >= .seconds(1) {
                    lastRound = ContinuousClock.now
                    let watched = hub.inventory.watchedSKUs
                    let counts = hub.inventory.changeCounts()
                    if !watched.isEmpty { hub.inventory.sync(try await store.loadStock(watched), skus: watched, counts: counts) }
                }
            } catch {
                synced = false
            }
        }
    }

    /// The pushes of the rooms run here (chat batches, counters), for the mirrors, in order.
    private func publishPushes() async {
        for await (stream, push) in pushes {
            let message = StreamChannelMessage.push(push).encoded
            _ = try? await redis.send(RedisCommand("PUBLISH", [.string(channel(stream)), .bytes(ByteBuffer(bytes: message))]))
        }
    }

    // MARK: - Channels

    private func channel(_ stream: StreamID) -> String {
        StreamChannelMessage.channel(stream, prefix: configuration.prefix)
    }

    static func stream(ofChannel channel: String, prefix: String) -> StreamID? {
        let head = prefix + ":s:{"
        let tail = "}:ch"
        guard channel.hasPrefix(head), channel.hasSuffix(tail), channel.utf8.count > head.utf8.count + tail.utf8.count else { return nil }
        return StreamID(String(channel.dropFirst(head.count).dropLast(tail.count)))
    }
}
