import HawkerCommerce
import HawkerProtocol
import HawkerState
import HawkerWebSocket
import NIOCore

/// The streams whose home is one event loop. Everything here runs on that loop, so
/// sequencing, stock-like counters, chat batches and aggregators need no locks.
final class HubShard {
    private struct HostedStream {
        var state: StreamState
        var room: StreamRoom
        /// Subscribers per event loop index; a loop with none gets no hop.
        var loopRefs: [Int]
        /// The encoded state for joiners and when it was made; dropped on every event and
        /// reused for at most one tick (the room's counters move in between).
        var stateCache: (json: ByteBuffer, at: Int64)?
        /// Which products do not ship where, as quotes worked it out: dropped on every
        /// event (the catalog may have changed) and when merchants' terms change. Every
        /// viewer quotes when the catalog changes; this keeps a crowd from working out the
        /// same answer thousands of times on the stream's loop.
        var shippingCache: (revision: Int64, notShipping: [Destination: [String]])?
        /// The last event, subscribe or unsubscribe (milliseconds since the Unix epoch).
        var lastActivity: Int64
        /// Who created it, when that counts against a quota.
        var owner: String?
        /// Events up to this seq are trimmed from the store (they left history).
        var trimmedThrough: UInt64 = 0
        /// The seq its room was last saved at: the store keeps every event after it, which
        /// a restart replays into the saved room.
        var roomSavedSeq: UInt64 = 0
        /// The save tick of its last room save (`saveTicks`).
        var roomSavedTick: UInt64 = 0
        /// Restored: when the room it came back from was saved (`Int64.min`: none was
        /// read, it counted no checkout).
        var roomSavedAt: Int64?
        /// A mirror of a stream another node runs (cluster mode): its events arrive
        /// through `replicate`, already sequenced and stored; nothing here sequences,
        /// ticks, stores or reserves for it.
        var replica = false

        var hasSubscribers: Bool { loopRefs.contains { $0 > 0 } }
        var subscriberCount: Int { loopRefs.reduce(0, +) }
        /// Cluster mode: viewers of this stream on the other nodes (as they last said).
        var remoteViewers = 0
        /// Who watches, over every node: what presence shows.
        var viewerCount: Int { subscriberCount + remoteViewers }
    }

    private var streams: [StreamID: HostedStream] = [:]
    private let configuration: HubConfiguration
    private let maxStreams: Int
    private let deflater: MessageDeflater?
    private let allocator = ByteBufferAllocator()
    private let eventLoop: any EventLoop
    private let loops: [any EventLoop]
    private let fanouts: [NIOLoopBoundBox<LoopFanout>]
    private let observer: (any HubObserver)?
    private let ownership: (any StreamOwnership)?
    private let clock: @Sendable () -> Int64
    /// Cluster mode: where the pushes of the rooms run here go, for the nodes mirroring them.
    private let onPush: (@Sendable (StreamID, StreamPush) -> Void)?
    /// At the stream limit, when the next stream could become evictable: until then a
    /// creation is refused without scanning every stream.
    private var noEvictionBefore: Int64?
    private var historySweepScheduled = false
    /// Rooms with a pending chat batch, counters to push or a sale to start or end.
    private var ticking: Set<StreamID> = []
    private var tickScheduled = false
    /// When the last tick was due: ticks keep a fixed rate instead of drifting by the
    /// time each one takes.
    private var lastTickDeadline: NIODeadline?

    // With a state store: the changes of this loop turn, the batches being committed
    // (oldest first), and the rooms changed since they were last saved.
    private let journal: StateJournal?
    /// Stock per merchant product, shared with every shard.
    private let inventory: InventoryLedger
    private var collecting = PendingBatch()
    private var inFlight = CircularBuffer<PendingBatch>()
    private var submitScheduled = false
    /// Rooms with a change that only a save keeps (checkouts, chat, questions, counters):
    /// saved within `stateSaveIntervalMilliseconds`.
    private var unsavedRooms: Set<StreamID> = []
    /// Rooms changed only by published events since their last save: the store has the
    /// events, and a restart replays them into the saved room, so these are saved only
    /// once history lets go of events past the save (which the store may then trim).
    private var replayableRooms: Set<StreamID> = []
    /// Periodic saves so far; a replayable room is saved at least every
    /// `configuration.replayedRoomSaveIntervals` of them, which bounds what a restart replays.
    private var saveTicks: UInt64 = 0
    private var saveScheduled = false
    /// Streams whose changes the store refused: written whole again with the next save.
    private var unstoredStreams: Set<StreamID> = []
    /// Batches waiting for the store past which new events are refused (`storeBehind`).
    static let maxInFlightBatches = 1_024
    /// Stock levels shown that moved this loop turn, per stream: one `stock.changed` per
    /// product (or variant) at the end of the turn, with the level then, however many
    /// checkouts moved it meanwhile.
    private var stockDue: [StreamID: Set<StockLine>] = [:]
    private var stockFlushScheduled = false

    private struct StockLine: Hashable, Comparable {
        var product: String
        var variant: String?

        static func < (lhs: StockLine, rhs: StockLine) -> Bool { (lhs.product, lhs.variant ?? "") < (rhs.product, rhs.variant ?? "") }
    }

    /// Changes on their way to the store, and the events among them, which go out to
    /// viewers (and into history) only once the store has them.
    private struct PendingBatch {
        var changes: [StateChange] = []
        var events: [(stream: StreamID, epoch: String, frame: BroadcastFrame, timestamp: Int64)] = []
        /// Publishers waiting for their receipt.
        var acks: [(promise: EventLoopPromise<PublishReceipt>, receipt: PublishReceipt)] = []
        /// Checkouts waiting for their stream's changes to be stored (failed when the store
        /// refused them: a node fenced off must not accept a checkout).
        var checkouts: [(stream: StreamID, promise: EventLoopPromise<Void>)] = []
        var promise: EventLoopPromise<Void>?
    }

    init(
        configuration: HubConfiguration,
        eventLoop: any EventLoop,
        loops: [any EventLoop],
        fanouts: [NIOLoopBoundBox<LoopFanout>],
        observer: (any HubObserver)?,
        ownership: (any StreamOwnership)? = nil,
        journal: StateJournal? = nil,
        inventory: InventoryLedger,
        clock: @escaping @Sendable () -> Int64,
        onPush: (@Sendable (StreamID, StreamPush) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.maxStreams = max(1, configuration.maxStreams / max(1, loops.count))
        self.deflater = configuration.compressionMinBytes == nil ? nil : MessageDeflater(level: configuration.compressionLevel)
        self.eventLoop = eventLoop
        self.loops = loops
        self.fanouts = fanouts
        self.observer = observer
        self.ownership = ownership
        self.journal = journal
        self.inventory = inventory
        self.clock = clock
        self.onPush = onPush
    }

    var streamCount: Int { streams.count }

    /// Each stream's subscribers and events, for operators.
    func streamStats() -> [StreamStats] {
        streams.map { StreamStats(stream: $0.key, subscribers: $0.value.subscriberCount, events: $0.value.state.seq) }
    }

    // MARK: - Events

    /// Returns the receipt and, with a state store, when the store has the event.
    func publish(_ draft: EventDraft, to stream: StreamID, creator: StreamCreator = .gateway) throws(HubError) -> (PublishReceipt, EventLoopFuture<Void>?) {
        let receipt = try publishEvent(draft, to: stream, creator: creator)
        return (receipt, committed())
    }

    private func publishEvent(_ draft: EventDraft, to stream: StreamID, creator: StreamCreator) throws(HubError) -> PublishReceipt {
        guard !isStoreBehind else { throw .storeBehind }
        guard streams[stream]?.replica != true else { throw .runsElsewhere }
        let now = clock()
        let existed = streams[stream] != nil
        defer {
            // A refused first event does not leave an empty stream behind.
            if !existed, let hosted = streams[stream], hosted.state.seq == 0, !hosted.hasSubscribers { drop(stream) }
        }
        return try withStream(stream, create: creator, now: now) { hosted throws(HubError) in
            let completed: EventDraft
            do throws(RoomError) {
                completed = try hosted.room.apply(draft, now: now)
            } catch {
                throw .rejected(error)
            }
            if draft.kind == .catalogSet || draft.kind == .productUpsert || draft.kind == .productRemoved {
                let skus = Set(hosted.room.commerce.catalog.all.flatMap(\.skus))
                inventory.watch(stream, skus)
                // A level that moved between reading it and watching it: shown now.
                for event in hosted.room.stockMoved(skus) { _ = sequence(event, in: &hosted, stream: stream, now: now, replayable: true) }
            }
            let receipt = sequence(completed, in: &hosted, stream: stream, now: now, replayable: true)
            if hosted.room.hasScheduledWork { markTicking(stream) }
            return receipt
        }
    }

    /// `publish` with a state store: `ack` gets the receipt once the store has the event
    /// (one promise per publish, completed with the batch; no future chained per event).
    func publish(_ draft: EventDraft, to stream: StreamID, creator: StreamCreator, acknowledging ack: EventLoopPromise<PublishReceipt>) {
        do {
            let receipt = try publishEvent(draft, to: stream, creator: creator)
            collecting.acks.append((ack, receipt))
        } catch {
            ack.fail(error)
        }
    }

    /// Appends a completed event to the log and fans it out; with a state store, once
    /// the store has it. `replayable`: the event is all the room's change (a host's
    /// publish, applied as a restart replays it), so the stored event keeps it and the
    /// room need not be saved for it.
    private func sequence(_ draft: EventDraft, in hosted: inout HostedStream, stream: StreamID, now: Int64, replayable: Bool = false) -> PublishReceipt {
        hosted.stateCache = nil
        hosted.shippingCache = nil
        observer?.published()
        guard journal != nil else {
            let (event, framed) = hosted.state.append(draft, now: now) { event in
                self.frame(ServerMessage.event(event), seq: event.seq, coalescingKey: event.stateKey)
            }
            dispatch(framed, to: stream, audience: .everyone, loopRefs: hosted.loopRefs)
            return PublishReceipt(stream: stream, position: event.position, timestamp: event.timestamp)
        }
        if replayable { replayableRooms.insert(stream) } else { markUnsaved(stream) }
        let (event, framed) = hosted.state.sequence(draft, now: now) { event in
            self.frame(ServerMessage.event(event), seq: event.seq, coalescingKey: event.stateKey)
        }
        record(.appended(stream, StoredEvent(seq: event.seq, timestamp: now, payload: framed.payloadData)))
        collecting.events.append((stream, hosted.state.epoch, framed, now))
        return PublishReceipt(stream: stream, position: event.position, timestamp: event.timestamp)
    }

    private func dispatch(_ frame: BroadcastFrame, to stream: StreamID, audience: Audience, loopRefs: [Int]) {
        for index in loopRefs.indices where loopRefs[index] > 0 {
            let fanout = fanouts[index]
            loops[index].execute { fanout.value.deliver(frame, to: stream, audience: audience) }
        }
    }

    // MARK: - Commands

    /// Returns the outcome and, when it published an event with a state store, when the
    /// store has it.
    func perform(_ action: StreamAction, by author: Author, on stream: StreamID) throws(HubError) -> (RoomOutcome, EventLoopFuture<Void>?) {
        if case .answer = action, isStoreBehind { throw .storeBehind }
        guard streams[stream]?.replica != true else { throw .runsElsewhere }
        let now = clock()
        return try withStream(stream, create: nil, now: now) { hosted throws(HubError) in
            let reply: RoomReply
            switch hosted.room.perform(action, by: author, now: now) {
            case .success(let success): reply = success
            case .failure(let error): throw .rejected(error)
            }
            markTicking(stream)
            markUnsaved(stream)
            if let event = reply.event {
                return (.published(sequence(event, in: &hosted, stream: stream, now: now)), committed())
            }
            return (.reply(type: reply.type, body: reply.body), nil)
        }
    }

    // MARK: - Checkout

    /// Checks and reserves a checkout in the stream's room; the stock it took goes out as
    /// `stock.changed` at once (before any backend is asked). With a state store, also
    /// returns when the store has those events: the checkout is recorded only after, so
    /// that no accepted checkout's stock comes back after a `kill -9`.
    func checkout(
        _ request: CheckoutRequest, buyer: String, checkoutID: String, on stream: StreamID
    ) throws(HubError) -> (
        StreamRoom.CheckoutOutcome, EventLoopFuture<Void>?
    ) {
        guard !isStoreBehind else { throw .storeBehind }
        guard streams[stream]?.replica != true else { throw .runsElsewhere }
        let now = clock()
        return try withStream(stream, create: nil, now: now) { hosted in
            // The codes it may credit: from memory (the directory), on this loop.
            let attribution = configuration.attribution?.candidates(for: request.attribution, stream: stream, host: hosted.owner, now: now) ?? .empty
            let outcome = hosted.room.checkout(
                request, buyer: buyer, checkoutID: checkoutID, attribution: attribution, terms: configuration.merchantTerms, now: now)
            if !outcome.replayed { markUnsaved(stream) }
            stockMoved(outcome.stockEvents, in: stream)
            guard case .success = outcome.result, !outcome.replayed else { return (outcome, nil) }
            markTicking(stream)
            // Its hold (if any: the level shown may not have moved) went to the store before
            // anything submitted from now on: this turn's batch is committed after it.
            let stored = eventLoop.makePromise(of: Void.self)
            collecting.checkouts.append((stream, stored))
            // In the same batch: refused with it if this node no longer runs the stream.
            record(.fence(stream))
            return (outcome, stored.futureResult)
        }
    }

    /// A checkout whose hold the shared store refused (cluster mode: its units were sold on
    /// another node meanwhile): the room forgets it, and the buyer hears it is sold out.
    func refuse(_ reservation: Reservation, on stream: StreamID) -> StreamRoom.CheckoutOutcome {
        abandon(reservation, on: stream)
        let product = reservation.lines.first?.product
        return StreamRoom.CheckoutOutcome(
            result: .failure(CheckoutRejection(.soldOut, product: product, available: 0, "sold out meanwhile (bought on another stream)")),
            replayed: false, stockEvents: [])
    }

    /// Stock levels of products `stream` shows moved (elsewhere, or here): its viewers
    /// get `stock.changed` for those whose level they see changed.
    func stockMoved(_ skus: Set<SKU>, in stream: StreamID) {
        guard let hosted = streams[stream], !hosted.replica else { return }
        try? withStream(stream, create: nil, now: nil) { hosted in
            stockMoved(hosted.room.stockMoved(skus), in: stream)
        }
    }

    /// `stock.changed` events are due in `stream`: sequenced at the end of this turn.
    private func stockMoved(_ events: [EventDraft], in stream: StreamID) {
        guard !events.isEmpty else { return }
        for event in events {
            guard let product = event.data["product"]?.stringValue else { continue }
            stockDue[stream, default: []].insert(StockLine(product: product, variant: event.data["variant"]?.stringValue))
        }
        guard !stockFlushScheduled else { return }
        stockFlushScheduled = true
        eventLoop.assumeIsolated().execute { [self] in
            stockFlushScheduled = false
            sequenceStockDue()
        }
    }

    /// One `stock.changed` per product (or variant) whose level moved this turn, with the
    /// level shown now.
    private func sequenceStockDue() {
        let due = stockDue
        stockDue.removeAll(keepingCapacity: true)
        let now = clock()
        for (stream, lines) in due {
            try? withStream(stream, create: nil, now: nil) { hosted in
                for line in lines.sorted() {
                    guard let event = hosted.room.commerce.stockEvent(for: line.product, variant: line.variant) else { continue }
                    _ = sequence(event, in: &hosted, stream: stream, now: now)
                }
            }
        }
    }

    /// Gives back a checkout that could not be recorded.
    func abandon(_ reservation: Reservation, on stream: StreamID) {
        guard streams[stream]?.replica != true else { return }
        let now = clock()
        try? withStream(stream, create: nil, now: now) { hosted in
            markUnsaved(stream)
            stockMoved(hosted.room.abandon(reservation), in: stream)
        }
    }

    /// A checkout whose acceptance its buyer's node never heard (cluster mode: the answer
    /// timed out there, so it was not recorded): given back, as if abandoned. Nothing when
    /// it was never reserved.
    func forgetCheckout(_ checkoutID: String, on stream: StreamID) -> Reservation? {
        guard let reservation = streams[stream]?.room.heldReservation(checkoutID) else { return nil }
        abandon(reservation, on: stream)
        return reservation
    }

    /// A merchant settled its part of a checkout.
    func settle(checkoutID: String, merchant: String, confirmed: Bool, on stream: StreamID) {
        guard streams[stream]?.replica != true else { return }
        let now = clock()
        try? withStream(stream, create: nil, now: now) { hosted in
            markUnsaved(stream)
            stockMoved(hosted.room.settle(checkoutID: checkoutID, merchant: merchant, confirmed: confirmed, now: now), in: stream)
            markTicking(stream)
        }
    }

    /// A merchant took units back.
    func returned(_ taken: Reservation, on stream: StreamID) {
        guard streams[stream]?.replica != true else { return }
        let now = clock()
        try? withStream(stream, create: nil, now: now) { hosted in
            markUnsaved(stream)
            stockMoved(hosted.room.returned(taken), in: stream)
            markTicking(stream)
        }
    }

    // MARK: - Subscribers

    /// Returns what to send first and, when the subscriber must wait before it is
    /// activated, the commit to wait for: a snapshot shows the room after events still
    /// being committed, which the subscriber must then not get again.
    func attach(_ stream: StreamID, loopIndex: Int, since: StreamPosition?, creator: StreamCreator?) throws(HubError) -> (SubscribeOutcome, EventLoopFuture<Void>?) {
        let now = clock()
        return try withStream(stream, create: creator, now: now) { hosted in
            hosted.loopRefs[loopIndex] += 1
            hosted.room.viewersChanged(to: hosted.viewerCount)
            markTicking(stream)
            let start = hosted.state.start(since: since, now: now)
            guard case .snapshot = start else { return (SubscribeOutcome(position: hosted.state.position, start: start, stateJSON: nil), nil) }
            let state = stateJSON(of: &hosted, now: now)
            let wait = hosted.state.hasUncommitted ? latestCommit() : nil
            return (SubscribeOutcome(position: hosted.state.latestPosition, start: start, stateJSON: state), wait)
        }
    }

    func detach(_ stream: StreamID, loopIndex: Int) {
        guard streams[stream] != nil else { return }
        try? withStream(stream, create: nil, now: clock()) { hosted in
            hosted.loopRefs[loopIndex] = max(0, hosted.loopRefs[loopIndex] - 1)
            hosted.room.viewersChanged(to: hosted.viewerCount)
        }
        markTicking(stream)
    }

    // MARK: - Reading

    func snapshot(of stream: StreamID) -> StreamSnapshot? {
        guard streams[stream] != nil else { return nil }
        let now = clock()
        return try? withStream(stream, create: nil, now: nil) { hosted in
            StreamSnapshot(position: hosted.state.latestPosition, stateJSON: stateJSON(of: &hosted, now: now))
        }
    }

    /// Prices a cart in the stream's room (no stock is held): nil when the stream does not exist.
    func quote(_ request: QuoteRequest, on stream: StreamID) -> Result<Quote, CheckoutRejection>? {
        guard let hosted = streams[stream] else { return nil }
        let terms = configuration.merchantTerms
        let revision = terms?.revision ?? 0
        var cache = hosted.shippingCache.flatMap { $0.revision == revision ? $0.notShipping : nil } ?? [:]
        let notShipping = cache[request.shipTo] ?? hosted.room.commerce.notShipping(to: request.shipTo, terms: terms)
        // Bounded: postcodes are many; past 256 the cache starts again.
        if cache[request.shipTo] == nil {
            if cache.count >= 256 { cache = [:] }
            cache[request.shipTo] = notShipping
            streams[stream]?.shippingCache = (revision, cache)
        }
        do throws(CheckoutRejection) {
            return .success(try hosted.room.commerce.quote(request, terms: terms, notShipping: notShipping))
        } catch {
            return .failure(error)
        }
    }

    func insights(of stream: StreamID) -> ByteBuffer? {
        guard let hosted = streams[stream] else { return nil }
        return JSONText.encode(hosted.room.insightsJSON(now: clock()), allocator: allocator)
    }

    private func stateJSON(of hosted: inout HostedStream, now: Int64) -> ByteBuffer {
        if let cached = hosted.stateCache, now - cached.at < hosted.room.configuration.tickMilliseconds { return cached.json }
        let encoded = JSONText.encode(hosted.room.stateJSON(now: now), allocator: allocator)
        hosted.stateCache = (encoded, now)
        return encoded
    }

    // MARK: - History

    /// Ages history out on a timer while the shard holds streams, so that a quiet
    /// stream's last events are freed when they expire, not at its next event.
    /// While any stream exists, every few seconds: ages out history and drops streams
    /// past their retention.
    private func scheduleHistorySweep() {
        guard !historySweepScheduled else { return }
        historySweepScheduled = true
        let interval = TimeAmount.milliseconds(min(max(configuration.historyMaxAgeMilliseconds / 4, 1_000), 10_000))
        eventLoop.assumeIsolated().scheduleTask(in: interval) { [self] in
            historySweepScheduled = false
            guard !streams.isEmpty else { return }
            let now = clock()
            for index in streams.values.indices { streams.values[index].state.pruneHistory(now: now) }
            dropRetiredStreams(now: now)
            guard !streams.isEmpty else { return }
            scheduleHistorySweep()
        }
    }

    /// Drops every stream that has had no subscriber, no scheduled sale and no activity
    /// for `streamRetentionMilliseconds`.
    private func dropRetiredStreams(now: Int64) {
        guard let retention = configuration.streamRetentionMilliseconds else { return }
        let retired = streams.compactMap { stream, hosted in
            !hosted.hasSubscribers && !hosted.room.hasScheduledWork && now - hosted.lastActivity >= retention ? stream : nil
        }
        for stream in retired { drop(stream) }
        if !retired.isEmpty { noEvictionBefore = nil }
    }

    // MARK: - Ticks

    private func markTicking(_ stream: StreamID) {
        ticking.insert(stream)
        scheduleTick()
    }

    private func scheduleTick() {
        guard !tickScheduled, !ticking.isEmpty else { return }
        tickScheduled = true
        let period = TimeAmount.milliseconds(configuration.room.tickMilliseconds)
        let now = eventLoop.now
        // The next slot after the last one; a loop that fell behind ticks at once, once.
        let deadline = lastTickDeadline.map { max($0 + period, now) } ?? now + period
        eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            tickScheduled = false
            lastTickDeadline = deadline
            tick()
            scheduleTick()
        }
    }

    /// Sends each busy room's chat batch and changed counters, and starts and ends sales
    /// that are due. A room leaves the ticking set when it has nothing left to do.
    func tick() {
        let now = clock()
        for stream in ticking {
            // A replica's room ticks on the node that runs it.
            guard streams[stream] != nil, streams[stream]?.replica != true else {
                ticking.remove(stream)
                continue
            }
            // Handed on after the stream's access ends (the callback must not run inside it).
            var pushed: [StreamPush] = []
            // In place: a copy of the room would copy its tables on every tick.
            let idle = try? withStream(stream, create: nil, now: nil) { hosted in
                let tick = hosted.room.tick(now: now)
                for event in tick.events {
                    _ = sequence(event, in: &hosted, stream: stream, now: now)
                }
                // A sale starting or ending is activity, like any event.
                if !tick.events.isEmpty { hosted.lastActivity = now }
                for push in tick.pushes {
                    let frame = frame(
                        ServerMessage.push(type: push.type, stream: stream, body: push.body),
                        seq: 0,
                        coalescingKey: push.coalescingKey,
                        itemCount: push.itemCount
                    )
                    dispatch(frame, to: stream, audience: push.audience, loopRefs: hosted.loopRefs)
                    if onPush != nil {
                        pushed.append(StreamPush(audience: push.audience, coalescingKey: push.coalescingKey, itemCount: push.itemCount, payload: frame.payloadData))
                    }
                }
                return !hosted.room.needsTick(now: now) && !hosted.room.hasScheduledWork
            }
            if let onPush { for push in pushed { onPush(stream, push) } }
            if idle ?? true { ticking.remove(stream) }
        }
    }

    // MARK: - Streams

    /// `now` is nil for reads, which do not count as activity. `create` is nil when a
    /// missing stream is not to be created, else who creates it.
    private func withStream<T>(
        _ stream: StreamID, create: StreamCreator?, now: Int64?, _ body: (inout HostedStream) throws(HubError) -> T
    ) throws(HubError) -> T {
        if streams[stream] == nil {
            guard let creator = create else { throw .streamNotFound }
            // The creator's quota first: a user past it makes no other stream give way.
            var owner: String?
            if case .user(let user) = creator, let ownership {
                guard ownership.claimStream(for: user) else { throw .streamQuotaReached }
                owner = user
            }
            guard streams.count < maxStreams || evictIdleStream(now: now ?? 0) else {
                if let owner { ownership?.releaseStream(of: owner) }
                throw .tooManyStreams
            }
            let state = StreamState(
                stream: stream,
                epoch: RandomID.hex16(),
                historyCapacity: configuration.historyCapacity,
                historyMaxBytes: configuration.historyMaxBytes,
                historyMaxAgeMilliseconds: configuration.historyMaxAgeMilliseconds
            )
            scheduleHistorySweep()
            scheduleSave()
            record(.created(stream, epoch: state.epoch, createdAt: now ?? clock(), owner: owner))
            markUnsaved(stream)
            streams[stream] = HostedStream(
                state: state,
                room: StreamRoom(configuration: configuration.room, seed: UInt64.random(in: 1...UInt64.max), stock: inventory),
                loopRefs: Array(repeating: 0, count: loops.count),
                lastActivity: now ?? 0,
                owner: owner
            )
        }
        if let now { streams[stream]!.lastActivity = now }
        return try body(&streams[stream]!)
    }

    /// Drops the stream idle longest, if one has no subscribers and has been idle for
    /// `idleStreamMilliseconds`. Scans only when the shard is full, and after a scan that
    /// found none, not again before the earliest time one could be (a stream that loses
    /// its last subscriber later becomes evictable later still): refusals stay cheap.
    private func evictIdleStream(now: Int64) -> Bool {
        if let noEvictionBefore, now < noEvictionBefore { return false }
        let idleFor = configuration.idleStreamMilliseconds
        var oldest: (stream: StreamID, lastActivity: Int64)?
        var earliestCandidate = now
        for (stream, hosted) in streams where !hosted.hasSubscribers {
            if now - hosted.lastActivity >= idleFor {
                if oldest == nil || hosted.lastActivity < oldest!.lastActivity { oldest = (stream, hosted.lastActivity) }
            } else {
                earliestCandidate = min(earliestCandidate, hosted.lastActivity)
            }
        }
        guard let oldest else {
            noEvictionBefore = earliestCandidate + idleFor
            return false
        }
        noEvictionBefore = nil
        drop(oldest.stream)
        return true
    }

    /// Forgets a stream, and gives it back to its owner's quota. With a state store its
    /// room is archived (readable, no longer live); a stream that never had an event is
    /// removed.
    private func drop(_ stream: StreamID) {
        guard let hosted = streams.removeValue(forKey: stream) else { return }
        ticking.remove(stream)
        unsavedRooms.remove(stream)
        replayableRooms.remove(stream)
        unstoredStreams.remove(stream)
        inventory.unwatch(stream)
        if let owner = hosted.owner { ownership?.releaseStream(of: owner) }
        // A replica is only forgotten here: the stream is the other node's to keep.
        guard journal != nil, !hosted.replica else { return }
        if hosted.state.seq == 0 {
            record(.removed(stream))
        } else {
            let now = clock()
            record(.roomSaved(stream, StoredRoom(seq: hosted.state.seq, savedAt: now, data: hosted.room.save())))
            record(.archived(stream, at: now))
        }
    }

    // MARK: - State store

    /// Brings back a stream kept by the state store, as it was: same epoch and seq, its
    /// history for resume, and its room as saved, moved on by the events after the save.
    /// As a `replica` (cluster mode: another node runs it) it only mirrors what it is
    /// given: no stock is set or watched, no quota counted, nothing sequenced or saved.
    /// Returns how many events after the saved room its room refused to replay.
    @discardableResult
    func restore(_ stored: StoredStream, replica: Bool = false) -> Int {
        let now = clock()
        let seed = UInt64.random(in: 1...UInt64.max)
        let saved = stored.room.flatMap { StreamRoom(restoring: $0.data, configuration: configuration.room, seed: seed, stock: inventory) }
        var room = saved ?? StreamRoom(configuration: configuration.room, seed: seed, stock: inventory)
        // A room this build cannot read: every kept event is replayed into a fresh one.
        let roomSeq = saved == nil ? 0 : stored.room?.seq ?? 0
        var state = StreamState(
            stream: stored.stream, epoch: stored.epoch, seq: stored.seq,
            historyCapacity: configuration.historyCapacity, historyMaxBytes: configuration.historyMaxBytes,
            historyMaxAgeMilliseconds: configuration.historyMaxAgeMilliseconds
        )
        var previous: UInt64?
        var notReplayed = 0
        for kept in stored.events {
            // A row that does not read, or a gap: history starts over after it (a resume
            // from before gets the snapshot), the room moves on from what reads.
            guard let event = StreamEvent(storedPayload: ByteBuffer(bytes: kept.payload)), event.seq == kept.seq, event.epoch == stored.epoch
            else {
                state.forgetHistory()
                previous = nil
                continue
            }
            if let previous, event.seq != previous + 1 { state.forgetHistory() }
            previous = event.seq
            if event.seq > roomSeq, !room.replay(EventDraft(restoring: event.kind, data: event.data), at: event.timestamp) { notReplayed += 1 }
            let framed = frame(ServerMessage.event(event), seq: event.seq, coalescingKey: event.stateKey)
            state.commit(framed, timestamp: event.timestamp, now: now)
        }
        // Subscribers already here (a replica loaded again, a stream changing hands) stay.
        let before = streams[stored.stream]
        let loopRefs = before?.loopRefs ?? Array(repeating: 0, count: loops.count)
        if replica {
            if let before, !before.replica {
                // Run here until now: what it held here goes (its store rows are the new owner's).
                inventory.unwatch(stored.stream)
                if let owner = before.owner { ownership?.releaseStream(of: owner) }
                unsavedRooms.remove(stored.stream)
                replayableRooms.remove(stored.stream)
                unstoredStreams.remove(stored.stream)
            }
            streams[stored.stream] = HostedStream(state: state, room: room, loopRefs: loopRefs, lastActivity: now, owner: nil, replica: true)
            // The events its subscribers missed while it was behind, when history covers them.
            if let before, before.state.epoch == state.epoch, before.state.seq < state.seq,
                case .replay(let missed) = streams[stored.stream]!.state.start(since: before.state.position, now: now)
            {
                for frame in missed { dispatch(frame, to: stored.stream, audience: .everyone, loopRefs: loopRefs) }
            }
            scheduleHistorySweep()
            return notReplayed
        }
        // The levels are the inventory's (restored before the streams). Only a store from
        // before stock was kept per merchant product (no level, no hold at all) starts from
        // the saved rooms' product levels (never from a variant's sum, nor once levels exist).
        if inventory.startedEmpty {
            for product in room.commerce.catalog.all where product.variants.allSatisfy({ $0.stock == nil }) {
                if let level = product.stock, inventory.hostMaySet(product.sku), inventory.available(product.sku) == nil {
                    _ = inventory.setAvailable(product.sku, to: level)
                }
            }
        }
        let skus = Set(room.commerce.catalog.all.flatMap(\.skus))
        inventory.watch(stored.stream, skus)
        // Levels that moved since the stream's last stock.changed (a hold or level stored
        // after it) go out as events, so that a viewer resuming from history ends right.
        let stockEvents = room.stockMoved(skus)
        // The owner's quota counts it again; past a lowered quota it is nobody's.
        let owner = stored.owner.flatMap { owner in ownership.map { $0.claimStream(for: owner) } ?? true ? owner : nil }
        streams[stored.stream] = HostedStream(
            state: state, room: room, loopRefs: loopRefs, lastActivity: now, owner: owner,
            trimmedThrough: max(1, stored.events.first?.seq ?? 1) - 1, roomSavedSeq: roomSeq, roomSavedAt: saved == nil ? .min : stored.room?.savedAt ?? .min
        )
        if streams[stored.stream]!.hasSubscribers { streams[stored.stream]!.room.viewersChanged(to: streams[stored.stream]!.viewerCount) }
        for event in stockEvents { _ = sequence(event, in: &streams[stored.stream]!, stream: stored.stream, now: now) }
        if room.hasScheduledWork { markTicking(stored.stream) }
        scheduleHistorySweep()
        scheduleSave()
        return notReplayed
    }

    /// An event the node running the stream stored: moves the replica's room on, joins
    /// its history and goes to the local subscribers, as if sequenced here.
    func replicate(_ stored: StoredEvent, to stream: StreamID) -> Replication {
        guard let hosted = streams[stream], hosted.replica else { return .notFollowed }
        // Another epoch (the stream began again) is a gap whatever its seq.
        guard let event = StreamEvent(storedPayload: ByteBuffer(bytes: stored.payload)), event.seq == stored.seq, event.epoch == hosted.state.epoch
        else { return .gap }
        if stored.seq <= hosted.state.seq { return .duplicate }
        guard stored.seq == hosted.state.seq + 1 else { return .gap }
        let now = clock()
        // The stored payload is the event message as the owner sent it: framed as it is.
        let framed = frame(payload: ByteBuffer(bytes: stored.payload), seq: event.seq, coalescingKey: event.stateKey, itemCount: 1)
        streams[stream]!.room.replay(EventDraft(restoring: event.kind, data: event.data), at: event.timestamp)
        streams[stream]!.state.commitReplicated(framed, timestamp: event.timestamp, now: now)
        streams[stream]!.stateCache = nil
        streams[stream]!.shippingCache = nil
        streams[stream]!.lastActivity = now
        observer?.published()
        dispatch(framed, to: stream, audience: .everyone, loopRefs: hosted.loopRefs)
        return .applied
    }

    /// A push of the room the other node runs, for the local subscribers of its audience.
    func replicate(_ push: StreamPush, to stream: StreamID) -> Replication {
        guard let hosted = streams[stream], hosted.replica else { return .notFollowed }
        let framed = frame(payload: ByteBuffer(bytes: push.payload), seq: 0, coalescingKey: push.coalescingKey, itemCount: push.itemCount)
        dispatch(framed, to: stream, audience: push.audience, loopRefs: hosted.loopRefs)
        return .applied
    }

    /// Forgets a replica (the stream ended, or moved here: it is restored as this node's).
    func unfollow(_ stream: StreamID) {
        guard streams[stream]?.replica == true else { return }
        drop(stream)
    }

    /// Cluster mode: how many watch the stream on the other nodes; presence counts them.
    func setRemoteViewers(_ count: Int, of stream: StreamID) {
        guard let hosted = streams[stream], !hosted.replica, hosted.remoteViewers != count else { return }
        try? withStream(stream, create: nil, now: nil) { hosted in
            hosted.remoteViewers = max(0, count)
            hosted.room.viewersChanged(to: hosted.viewerCount)
        }
        markTicking(stream)
    }

    func unfollowIfIdle(_ stream: StreamID) -> Bool {
        guard let hosted = streams[stream], hosted.replica else { return true }
        guard !hosted.hasSubscribers else { return false }
        drop(stream)
        return true
    }

    /// When the earliest restored room was saved: checkouts and settlements after it may
    /// be missing from some room. nil when no stream was restored.
    var earliestRoomSave: Int64? {
        streams.values.compactMap(\.roomSavedAt).min()
    }

    /// Squares restored rooms with the outbox (see `StreamRoom.restoreCheckout`).
    func restoreCheckouts(_ checkouts: [RestoredCheckout]) {
        let now = clock()
        for checkout in checkouts {
            guard let savedAt = streams[checkout.stream]?.roomSavedAt else { continue }
            // In the same millisecond as the save it may be either side: counted again (a
            // limit is then reached early, never passed), and a settlement not applied
            // again (a failed part's sale units are then not given back twice).
            let counted = checkout.reservation.createdAt < savedAt
            var settled: [String: Bool] = [:]
            for part in checkout.parts where !part.redriven {
                if let confirmed = part.confirmed, part.updatedAt > savedAt { settled[part.merchant] = confirmed }
            }
            // Parts settled before the save are done with, and re-driven ones gave their
            // sale counts back at their dead letter: only the others are held.
            let open = Set(checkout.parts.filter { !$0.redriven && ($0.confirmed == nil || settled[$0.merchant] != nil) }.map(\.merchant))
            guard !counted || !open.isEmpty else { continue }
            try? withStream(checkout.stream, create: nil, now: nil) { hosted in
                let events = hosted.room.restoreCheckout(checkout.reservation, counted: counted, holding: open, settled: settled, now: now)
                stockMoved(events, in: checkout.stream)
            }
            markUnsaved(checkout.stream)
        }
    }

    /// The room changed: it is saved with the next save (with a state store).
    @inline(__always)
    private func markUnsaved(_ stream: StreamID) {
        if journal != nil { unsavedRooms.insert(stream) }
    }

    /// Adds a change to this loop turn's batch, submitted when the turn ends.
    private func record(_ change: StateChange) {
        guard journal != nil else { return }
        collecting.changes.append(change)
        scheduleSubmit()
    }

    /// The batch goes when this loop turn ends (once, however many ask).
    private func scheduleSubmit() {
        guard !submitScheduled else { return }
        submitScheduled = true
        eventLoop.assumeIsolated().execute { [self] in
            submitScheduled = false
            submit()
        }
    }

    /// Hands this turn's batch to the journal (an empty one when someone waits for it).
    private func submit() {
        guard let journal, !collecting.changes.isEmpty || collecting.promise != nil || !collecting.checkouts.isEmpty else { return }
        let batch = collecting
        collecting = PendingBatch()
        inFlight.append(batch)
        let shard = NIOLoopBound(self, eventLoop: eventLoop)
        let loop = eventLoop
        journal.submit(batch.changes) { unstored in
            loop.execute { shard.value.committed(unstored: unstored) }
        }
    }

    /// Too many batches wait for the store: new events are refused until it catches up.
    private var isStoreBehind: Bool { inFlight.count >= Self.maxInFlightBatches }

    /// The oldest batch is in the store (or failed): its events go into history and out
    /// to viewers, in order, and whoever waited for it hears.
    /// A refused stream's events still go out (the room has them already); its
    /// publishers hear `notStored`, and the stream is written whole again with the next
    /// save.
    private func committed(unstored: Set<StreamID>) {
        guard let batch = inFlight.popFirst() else { return }
        let now = clock()
        for item in batch.events {
            // A stream dropped meanwhile (or dropped and created again) has no use for it.
            guard streams[item.stream]?.state.epoch == item.epoch else { continue }
            if !configuration.unstoredEventsGoOut, unstored.contains(item.stream) { continue }
            streams[item.stream]!.state.commit(item.frame, timestamp: item.timestamp, now: now)
            dispatch(item.frame, to: item.stream, audience: .everyone, loopRefs: streams[item.stream]!.loopRefs)
        }
        for (ack, receipt) in batch.acks {
            if unstored.contains(receipt.stream) { ack.fail(HubError.notStored) } else { ack.succeed(receipt) }
        }
        for (stream, promise) in batch.checkouts {
            if unstored.contains(stream) { promise.fail(HubError.notStored) } else { promise.succeed() }
        }
        batch.promise?.succeed()
        for stream in unstored where streams[stream] != nil {
            unstoredStreams.insert(stream)
            unsavedRooms.insert(stream)
        }
    }

    /// Completes when what was sequenced so far is committed; nil without a store or
    /// when nothing is pending.
    private func committed() -> EventLoopFuture<Void>? {
        guard journal != nil, !collecting.changes.isEmpty else { return nil }
        if collecting.promise == nil { collecting.promise = eventLoop.makePromise() }
        return collecting.promise!.futureResult
    }

    /// Completes when a batch submitted from now on is committed (so after everything
    /// handed to the journal before); nil without a store.
    private func nextCommit() -> EventLoopFuture<Void>? {
        guard journal != nil else { return nil }
        if collecting.promise == nil { collecting.promise = eventLoop.makePromise() }
        scheduleSubmit()
        return collecting.promise!.futureResult
    }

    /// Completes when every event sequenced so far is committed. This turn's batch goes
    /// now, so that events sequenced after this call are in later batches.
    private func latestCommit() -> EventLoopFuture<Void>? {
        if !collecting.events.isEmpty { submit() }
        guard !inFlight.isEmpty else { return nil }
        let last = inFlight.index(before: inFlight.endIndex)
        if inFlight[last].promise == nil { inFlight[last].promise = eventLoop.makePromise() }
        return inFlight[last].promise!.futureResult
    }

    /// Saves the rooms that changed since their last save, and trims from the store the
    /// events that left history, every `stateSaveIntervalMilliseconds`.
    private func scheduleSave() {
        guard journal != nil, !saveScheduled else { return }
        saveScheduled = true
        eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(configuration.stateSaveIntervalMilliseconds)) { [self] in
            saveScheduled = false
            saveRooms(all: false)
            if !streams.isEmpty { scheduleSave() }
        }
    }

    /// Saves the changed rooms now: all of them (at shutdown, so that a restart replays
    /// nothing), or those a save is due for (every `stateSaveIntervalMilliseconds`).
    /// A room changed only by published events is due once its history let go of events
    /// past its last save (until then the store keeps them, which is what a restart
    /// needs), or `replayedRoomSaveIntervals` saves after its last: a restart then replays at
    /// most that much, and a room limit lowered meanwhile (which refuses replayed events)
    /// costs no more. Saving every such room every interval JSON-encoded each busy room
    /// once a second, a tenth of a loop's time with thousands of small streams.
    func saveRooms(all: Bool = true) {
        guard journal != nil else { return }
        let now = clock()
        if !all { saveTicks += 1 }
        for stream in unsavedRooms { save(stream, now: now) }
        for stream in replayableRooms where !unsavedRooms.contains(stream) {
            guard let hosted = streams[stream] else { continue }
            if all || keptFrom(hosted) > hosted.roomSavedSeq + 1 || saveTicks - hosted.roomSavedTick >= UInt64(max(1, configuration.replayedRoomSaveIntervals)) { save(stream, now: now) }
        }
        unsavedRooms.removeAll(keepingCapacity: true)
        // Those saved (or gone) leave the set.
        replayableRooms = replayableRooms.filter { streams[$0].map { $0.state.seq > $0.roomSavedSeq } ?? false }
        submit()
    }

    /// The oldest event history holds (its newest when it holds none): the store need
    /// not keep what comes before.
    private func keptFrom(_ hosted: HostedStream) -> UInt64 {
        min(hosted.state.oldestHeldSeq ?? hosted.state.committedSeq, hosted.state.committedSeq)
    }

    /// Records a stream's room as it is now, and trims from the store the events that
    /// left history (all of them before the save).
    private func save(_ stream: StreamID, now: Int64) {
        guard let hosted = streams[stream], !hosted.replica else { return }
        if unstoredStreams.remove(stream) != nil {
            // Whole again: its row, then its room (its kept events went with the refusal).
            record(.created(stream, epoch: hosted.state.epoch, createdAt: now, owner: hosted.owner))
            streams[stream]!.trimmedThrough = hosted.state.committedSeq
        }
        record(.roomSaved(stream, StoredRoom(seq: hosted.state.seq, savedAt: now, data: hosted.room.save())))
        streams[stream]!.roomSavedSeq = hosted.state.seq
        streams[stream]!.roomSavedTick = saveTicks
        // The newest event stays, so that the store always knows the last seq.
        let keepFrom = keptFrom(hosted)
        if keepFrom > 1, keepFrom - 1 > hosted.trimmedThrough {
            record(.trimmed(stream, through: keepFrom - 1))
            streams[stream]!.trimmedThrough = keepFrom - 1
        }
    }

    /// Everything submitted so far, for shutdown: completes when the last batch is in.
    func flushed() -> EventLoopFuture<Void> {
        submit()
        guard !inFlight.isEmpty else { return eventLoop.makeSucceededVoidFuture() }
        return latestCommit()!.recover { _ in }
    }

    /// Encodes and frames a message once for all viewers.
    private func frame(_ message: ServerMessage, seq: UInt64, coalescingKey: String?, itemCount: Int = 1) -> BroadcastFrame {
        frame(payload: message.encode(allocator: allocator), seq: seq, coalescingKey: coalescingKey, itemCount: itemCount)
    }

    /// Frames an encoded message once for all viewers (and once deflated, when it pays).
    /// `consuming`: the payload must be the only reference to its storage, so that the
    /// header goes in front of it without a copy.
    private func frame(payload: consuming ByteBuffer, seq: UInt64, coalescingKey: String?, itemCount: Int) -> BroadcastFrame {
        var deflated: ByteBuffer?
        if let deflater, let minimum = configuration.compressionMinBytes, payload.readableBytes >= minimum,
            let compressed = try? deflater.compress(payload, windowBits: 15, allocator: allocator),
            compressed.readableBytes < payload.readableBytes
        {
            deflated = WebSocketFrameHeader.textFrame(compressed, compressed: true, allocator: allocator)
        }
        // Framed last, handing the payload over: the header goes into the room the encoder
        // left in front of it, in the same buffer.
        let plain = WebSocketFrameHeader.textFrame(consume payload, allocator: allocator)
        return BroadcastFrame(seq: seq, plain: plain, deflated: deflated, coalescingKey: coalescingKey, itemCount: itemCount)
    }
}

@available(*, unavailable)
extension HubShard: Sendable {}
