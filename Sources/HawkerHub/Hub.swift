import HawkerCommerce
import HawkerProtocol
import HawkerState
import NIOCore
import Synchronization

import struct Foundation.Date

/// The single-node `StreamEngine`: the streams of this gateway and the fan-out of their
/// events.
///
/// Each stream lives on one home event loop (its shard), where events are sequenced,
/// framed once and recorded, and where its room (catalog, chat, questions, intents)
/// runs. Subscribers are kept per event loop; a broadcast makes one hop to each loop
/// that has subscribers and is written there to all of them.
public final class Hub: StreamEngine {
    private let loops: [any EventLoop]
    private let loopIndex: [ObjectIdentifier: Int]
    private let shards: [NIOLoopBoundBox<HubShard>]
    private let fanouts: [NIOLoopBoundBox<LoopFanout>]
    private let clock: @Sendable () -> Int64
    private let journal: StateJournal?
    private let configuration: HubConfiguration
    /// Stock per merchant product, shared by every stream.
    public let inventory: InventoryLedger
    /// Accepted checkouts whose hold is not stored yet, by checkout id: a retry with the
    /// same key (a replay) answers with what the first one becomes, never before it.
    private let pendingCheckouts = Mutex<[String: EventLoopFuture<StreamRoom.CheckoutOutcome>]>([:])

    /// - Parameters:
    ///   - loops: every event loop connections may live on.
    ///   - journal: where streams are kept to outlive the process; nil keeps them in
    ///     memory only.
    ///   - clock: milliseconds since the Unix epoch; injected for tests.
    ///   - onPush: cluster mode: each push of a room run here (chat batches, counters),
    ///     for the nodes mirroring the stream.
    public init(
        loops: [any EventLoop],
        configuration: HubConfiguration = HubConfiguration(),
        observer: (any HubObserver)? = nil,
        ownership: (any StreamOwnership)? = nil,
        journal: StateJournal? = nil,
        clock: @escaping @Sendable () -> Int64 = Hub.systemClock,
        onPush: (@Sendable (StreamID, StreamPush) -> Void)? = nil
    ) {
        precondition(!loops.isEmpty, "the hub needs at least one event loop")
        self.loops = loops
        self.loopIndex = Dictionary(uniqueKeysWithValues: loops.enumerated().map { (ObjectIdentifier($0.element), $0.offset) })
        // Built off their loops (at startup), hence `makeBoxSendingValue`.
        let fanouts = loops.map { NIOLoopBoundBox.makeBoxSendingValue(LoopFanout(eventLoop: $0, observer: observer), eventLoop: $0) }
        let inventory = InventoryLedger(
            journal: journal, maxSKUsPerMerchant: configuration.maxSKUsPerMerchant, merchantsSettingStock: configuration.merchantsSettingStock)
        self.inventory = inventory
        self.fanouts = fanouts
        self.shards = loops.map {
            NIOLoopBoundBox.makeBoxSendingValue(
                HubShard(
                    configuration: configuration, eventLoop: $0, loops: loops, fanouts: fanouts, observer: observer, ownership: ownership,
                    journal: journal, inventory: inventory, clock: clock, onPush: onPush
                ),
                eventLoop: $0
            )
        }
        self.clock = clock
        self.journal = journal
        self.configuration = configuration
        // A level that moved reaches every stream showing the product, on its home loop.
        let shards = self.shards
        let loopCount = loops.count
        let moves = StockMoves(loops: loopCount)
        inventory.whenLevelsMove { moved in
            var perStream: [StreamID: Set<SKU>] = [:]
            for (sku, streams) in moved { for stream in streams { perStream[stream, default: []].insert(sku) } }
            for (stream, skus) in perStream {
                let home = Int(FNV1a.hash(stream.rawValue) % UInt64(loopCount))
                guard moves.add(skus, for: stream, loop: home) else { continue }
                let shard = shards[home]
                loops[home].execute {
                    for (stream, skus) in moves.take(loop: home) { shard.value.stockMoved(skus, in: stream) }
                }
            }
        }
    }

    public static let systemClock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

    public var now: Int64 { clock() }

    private func homeIndex(of stream: StreamID) -> Int {
        // A stable hash, so a stream's home does not depend on the process seed.
        Int(FNV1a.hash(stream.rawValue) % UInt64(loops.count))
    }

    // MARK: - Publishing

    /// Sequences `draft` on the stream's home loop, records it and fans it out to every
    /// loop with subscribers. Creates the stream on its first event, counted against
    /// `creator`'s stream quota.
    /// With a state store, the receipt comes once the store has the event.
    public func publish(_ draft: EventDraft, to stream: StreamID, creator: StreamCreator) -> EventLoopFuture<PublishReceipt> {
        guard journal != nil else { return onHome(of: stream) { try $0.publish(draft, to: stream, creator: creator).0 } }
        let home = homeIndex(of: stream)
        let shard = shards[home]
        let ack = loops[home].makePromise(of: PublishReceipt.self)
        if loops[home].inEventLoop {
            shard.value.publish(draft, to: stream, creator: creator, acknowledging: ack)
        } else {
            loops[home].execute { shard.value.publish(draft, to: stream, creator: creator, acknowledging: ack) }
        }
        return ack.futureResult
    }

    /// Runs a chat, question, intent or moderation command in the stream's room.
    public func perform(_ action: StreamAction, by author: Author, on stream: StreamID) -> EventLoopFuture<RoomOutcome> {
        guard journal != nil else { return onHome(of: stream) { try $0.perform(action, by: author, on: stream).0 } }
        return onHome(of: stream) { try $0.perform(action, by: author, on: stream) }.afterCommit()
    }

    // MARK: - Checkout

    /// Checks and reserves `request` on the stream's home loop, where its stock counters
    /// live: concurrent checkouts run one after another there and can never oversell.
    public func checkout(_ request: CheckoutRequest, buyer: String, checkoutID: String, on stream: StreamID) -> EventLoopFuture<StreamRoom.CheckoutOutcome> {
        guard journal != nil else { return onHome(of: stream) { try $0.checkout(request, buyer: buyer, checkoutID: checkoutID, on: stream).0 } }
        let inventory = self.inventory
        return onHome(of: stream) { try $0.checkout(request, buyer: buyer, checkoutID: checkoutID, on: stream) }.flatMap { outcome, stored in
            let loop = self.loops[self.homeIndex(of: stream)]
            guard case .success(let reservation) = outcome.result else { return loop.makeSucceededFuture(outcome) }
            guard let stored else {
                // A replay of a checkout still being stored: its answer is the first one's.
                guard outcome.replayed, let first = self.pendingCheckouts.withLock({ $0[reservation.checkoutID] }) else { return loop.makeSucceededFuture(outcome) }
                return first.map { first in
                    var replayed = first
                    replayed.replayed = true
                    return replayed
                }
            }
            let final = stored.flatMap { () -> EventLoopFuture<StreamRoom.CheckoutOutcome> in
                // Cluster mode: the shared store refused its hold (sold on another node).
                guard inventory.takeRefusal(reservation.checkoutID) else { return stored.eventLoop.makeSucceededFuture(outcome) }
                return self.onHome(of: stream) { $0.refuse(reservation, on: stream) }
            }.flatMapError { error in
                // Not stored (this node lost the stream): not accepted, the units go back.
                self.abandon(reservation, on: stream)
                return stored.eventLoop.makeFailedFuture(error)
            }
            self.pendingCheckouts.withLock { $0[reservation.checkoutID] = final }
            final.whenComplete { _ in _ = self.pendingCheckouts.withLock { $0.removeValue(forKey: reservation.checkoutID) } }
            return final
        }
    }

    /// Undoes a reservation whose checkout could not be recorded: stock back, key forgotten.
    public func abandon(_ reservation: Reservation, on stream: StreamID) {
        // The units go back even when the stream is gone.
        inventory.release(reservation.checkoutID)
        onHomeLater(of: stream) { $0.abandon(reservation, on: stream) }
    }

    /// Cluster mode: gives back a checkout the buyer's node did not hear accepted (its
    /// forwarded answer timed out, so it was never recorded), if it was reserved.
    public func forgetCheckout(_ checkoutID: String, on stream: StreamID) {
        let inventory = self.inventory
        onHomeLater(of: stream) { shard in
            if shard.forgetCheckout(checkoutID, on: stream) != nil { inventory.release(checkoutID) }
        }
    }

    /// A merchant confirmed or failed its part of a checkout: counts it, and gives the
    /// stock of a failed part back (with `stock.changed`).
    public func settle(checkoutID: String, merchant: String, confirmed: Bool, on stream: StreamID) {
        // Settled in the inventory even when the stream is gone (or was before a restart).
        inventory.settle(checkoutID, merchant: merchant, confirmed: confirmed)
        onHomeLater(of: stream) { $0.settle(checkoutID: checkoutID, merchant: merchant, confirmed: confirmed, on: stream) }
    }

    public func returned(_ taken: Reservation, on stream: StreamID) {
        onHomeLater(of: stream) { $0.returned(taken, on: stream) }
    }

    // MARK: - The home loop

    /// Runs `body` with the stream's shard on its home loop: inline when already there
    /// (always, with one loop), else after one hop.
    @inline(__always)
    private func onHome<T: Sendable>(of stream: StreamID, _ body: @escaping @Sendable (HubShard) throws -> T) -> EventLoopFuture<T> {
        let home = homeIndex(of: stream)
        let shard = shards[home]
        if loops[home].inEventLoop {
            return loops[home].makeCompletedFuture { try body(shard.value) }
        }
        return loops[home].submit { try body(shard.value) }
    }

    /// Runs `body` with the stream's shard on its home loop, always later (queued behind
    /// what that loop already has); nothing to wait for.
    private func onHomeLater(of stream: StreamID, _ body: @escaping @Sendable (HubShard) -> Void) {
        let home = homeIndex(of: stream)
        let shard = shards[home]
        loops[home].execute { body(shard.value) }
    }

    // MARK: - Subscribing

    /// Starts a subscription for `subscriber`, which lives on `eventLoop` (the caller's).
    ///
    /// The returned future completes on `eventLoop` with what to send first; the
    /// subscriber must then call `activate` before anything else runs on that loop, so
    /// that it receives exactly the events after the outcome's position.
    /// `creator`: who creates the stream if it does not exist (counted against its stream
    /// quota); nil when a missing stream is `streamNotFound`.
    public func subscribe(_ stream: StreamID, since: StreamPosition?, creator: StreamCreator?, on eventLoop: any EventLoop) -> EventLoopFuture<SubscribeOutcome> {
        let index = index(of: eventLoop)
        let promise = eventLoop.makePromise(of: SubscribeOutcome.self)
        onHomeLater(of: stream) { shard in
            do {
                let (outcome, wait) = try shard.attach(stream, loopIndex: index, since: since, creator: creator)
                // Completed through the subscriber's loop's queue, behind the deliveries
                // already queued there (events the outcome covers), so that the subscriber,
                // activated then, gets none of them again. A snapshot that shows events
                // still being committed is sent once they are.
                if let wait {
                    wait.whenComplete { _ in eventLoop.execute { promise.succeed(outcome) } }
                } else {
                    eventLoop.execute { promise.succeed(outcome) }
                }
            } catch {
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    /// Registers `subscriber` for live events; call on its loop when `subscribe` succeeded.
    /// Staff (hosts, moderators, admins) also get the staff-only pushes.
    public func activate(_ subscriber: any StreamSubscriber, on stream: StreamID, staff: Bool, eventLoop: any EventLoop) {
        fanouts[index(of: eventLoop)].value.add(subscriber, to: stream, staff: staff)
    }

    /// Ends a subscription that `subscribe` started (activated or not).
    public func unsubscribe(_ subscriber: any StreamSubscriber, from stream: StreamID, eventLoop: any EventLoop) {
        let index = index(of: eventLoop)
        fanouts[index].value.remove(subscriber, from: stream)
        onHomeLater(of: stream) { $0.detach(stream, loopIndex: index) }
    }

    // MARK: - Reading

    public func snapshot(of stream: StreamID) -> EventLoopFuture<StreamSnapshot?> {
        let live = onHome(of: stream) { $0.snapshot(of: stream) }
        guard journal != nil else { return live }
        return live.flatMap { snapshot in
            if let snapshot { return live.eventLoop.makeSucceededFuture(snapshot) }
            return live.eventLoop.makeFutureWithTask {
                try await self.archivedRoom(stream).map { stored, room in
                    StreamSnapshot(
                        position: StreamPosition(epoch: stored.epoch, seq: stored.seq),
                        stateJSON: JSONText.encode(room.stateJSON(now: self.clock())),
                        archivedAt: stored.archivedAt
                    )
                }
            }
        }
    }

    /// An archived stream as the store keeps it, with its room.
    private func archivedRoom(_ stream: StreamID) async throws -> (StoredStream, StreamRoom)? {
        guard let journal, let stored = try await journal.store.archived(stream) else { return nil }
        let room =
            stored.room.flatMap { StreamRoom(restoring: $0.data, configuration: configuration.room, seed: 1) }
            ?? StreamRoom(configuration: configuration.room)
        return (stored, room)
    }

    /// The streams with the most subscribers (then the most events), over every shard.
    public func busiestStreams(limit: Int, on eventLoop: any EventLoop) -> EventLoopFuture<[StreamStats]> {
        let futures = zip(loops, shards).map { loop, shard in loop.submit { shard.value.streamStats() } }
        return EventLoopFuture.whenAllSucceed(futures, on: eventLoop).map { perShard in
            Array(perShard.joined().sorted { ($0.subscribers, $0.events) > ($1.subscribers, $1.events) }.prefix(max(0, limit)))
        }
    }

    /// Prices a cart in the stream's room; nil when the stream is not live here.
    public func quote(_ request: QuoteRequest, on stream: StreamID) -> EventLoopFuture<Result<Quote, CheckoutRejection>?> {
        onHome(of: stream) { $0.quote(request, on: stream) }
    }

    /// The stream's lifetime counters, or nil when it does not exist.
    public func insights(of stream: StreamID) -> EventLoopFuture<ByteBuffer?> {
        let live = onHome(of: stream) { $0.insights(of: stream) }
        guard journal != nil else { return live }
        return live.flatMap { insights in
            if let insights { return live.eventLoop.makeSucceededFuture(insights) }
            return live.eventLoop.makeFutureWithTask {
                try await self.archivedRoom(stream).map { _, room in JSONText.encode(room.insightsJSON(now: self.clock())) }
            }
        }
    }

    /// Deletes archived streams archived before `before` (milliseconds since the Unix
    /// epoch); returns how many.
    public func pruneArchive(before: Int64) async throws -> Int {
        try await journal?.store.pruneArchive(before: before) ?? 0
    }

    // MARK: - State store

    /// Brings back every stream the journal's store keeps (at startup, before any
    /// connection): same epoch and seq, history and room. Returns how many.
    /// `eventsNotReplayed`: events after a saved room that the room refused when replayed
    /// (a room limit lowered since the save, a damaged row); those rooms are as saved, moved
    /// on by the events that replayed.
    public func restore() async throws -> (streams: Int, eventsNotReplayed: Int) {
        guard let journal else { return (0, 0) }
        // Stock first: the restored rooms show its levels.
        inventory.restore(try await journal.store.loadInventory())
        let stored = try await journal.store.load()
        var perShard = Array(repeating: [StoredStream](), count: loops.count)
        for stream in stored { perShard[homeIndex(of: stream.stream)].append(stream) }
        var notReplayed = 0
        for (index, streams) in perShard.enumerated() where !streams.isEmpty {
            let shard = shards[index]
            notReplayed += try await loops[index].submit { streams.reduce(0) { $0 + shard.value.restore($1) } }.get()
        }
        return (stored.count, notReplayed)
    }

    // MARK: - Replicas (cluster mode)

    /// Mirrors a stream another node runs, from what the cluster's store keeps (its
    /// epoch, seq, kept events and saved room): this node's subscribers then get its
    /// state, resume from its history, and its events as `replicate` hands them over.
    /// Publishing, commands and checkouts on it are refused (`runsElsewhere`): they go
    /// to the node that runs it.
    public func follow(_ stored: StoredStream) -> EventLoopFuture<Void> {
        let home = homeIndex(of: stored.stream)
        let shard = shards[home]
        return loops[home].submit { _ = shard.value.restore(stored, replica: true) }
    }

    /// Runs here a stream this node took over (cluster mode: it now holds its lease), from
    /// what the cluster's store keeps, as `restore` does at startup; a replica of it
    /// becomes this node's, its subscribers kept.
    public func adopt(_ stored: StoredStream) -> EventLoopFuture<Void> {
        let home = homeIndex(of: stored.stream)
        let shard = shards[home]
        return loops[home].submit { _ = shard.value.restore(stored, replica: false) }
    }

    /// Cluster mode: the viewers of `stream` (run here) on the other nodes, for presence.
    public func setRemoteViewers(_ count: Int, of stream: StreamID) {
        onHomeLater(of: stream) { $0.setRemoteViewers(count, of: stream) }
    }

    /// Forgets the replica of `stream` if no subscriber of this node is on it; false when
    /// one is (it stays).
    public func unfollowIfIdle(_ stream: StreamID) -> EventLoopFuture<Bool> {
        let home = homeIndex(of: stream)
        let shard = shards[home]
        return loops[home].submit { shard.value.unfollowIfIdle(stream) }
    }

    /// An event the node running `stream` stored, for the replica here.
    public func replicate(_ event: StoredEvent, to stream: StreamID) -> EventLoopFuture<Replication> {
        let home = homeIndex(of: stream)
        let shard = shards[home]
        return loops[home].submit { shard.value.replicate(event, to: stream) }
    }

    /// A push of the room another node runs (a chat batch, counters), for the replica's
    /// local subscribers.
    public func replicate(_ push: StreamPush, to stream: StreamID) -> EventLoopFuture<Replication> {
        let home = homeIndex(of: stream)
        let shard = shards[home]
        return loops[home].submit { shard.value.replicate(push, to: stream) }
    }

    /// Forgets the replica of `stream` (it ended, or this node takes it over).
    public func unfollow(_ stream: StreamID) -> EventLoopFuture<Void> {
        let home = homeIndex(of: stream)
        let shard = shards[home]
        return loops[home].submit { shard.value.unfollow(stream) }
    }

    /// When the earliest restored room was saved (nil: none restored): the outbox's
    /// checkouts and settlements since then go to `restoreCheckouts`.
    public func earliestRoomSave() async throws -> Int64? {
        var earliest: Int64?
        for (loop, shard) in zip(loops, shards) {
            if let saved = try await loop.submit({ shard.value.earliestRoomSave }).get() { earliest = min(earliest ?? saved, saved) }
        }
        return earliest
    }

    /// Squares the restored rooms with checkouts read from the outbox: sale counts and
    /// insights of checkouts accepted after a room's save, settlements since, and the
    /// orders still on their way (whose settlement then counts in the room).
    public func restoreCheckouts(_ checkouts: [RestoredCheckout]) async throws {
        var perShard = Array(repeating: [RestoredCheckout](), count: loops.count)
        for checkout in checkouts { perShard[homeIndex(of: checkout.stream)].append(checkout) }
        for (index, checkouts) in perShard.enumerated() where !checkouts.isEmpty {
            let shard = shards[index]
            try await loops[index].submit { shard.value.restoreCheckouts(checkouts) }.get()
        }
    }

    /// Saves every changed room and waits until the store has everything sequenced so
    /// far (at shutdown, after the last connection).
    public func saveAndFlush() async {
        guard let journal else { return }
        for (loop, shard) in zip(loops, shards) {
            _ = try? await loop.flatSubmit {
                shard.value.saveRooms()
                return shard.value.flushed()
            }.get()
        }
        await journal.flush()
    }

    private func index(of eventLoop: any EventLoop) -> Int {
        guard let index = loopIndex[ObjectIdentifier(eventLoop)] else {
            preconditionFailure("event loop \(eventLoop) is not one of the hub's")
        }
        return index
    }
}

extension EventLoopFuture {
    /// The value of a shard's `(value, commit)`, once the commit (if any) is in the store.
    fileprivate func afterCommit<T: Sendable>() -> EventLoopFuture<T> where Value == (T, EventLoopFuture<Void>?) {
        flatMap { value, commit in
            guard let commit else { return self.eventLoop.makeSucceededFuture(value) }
            return commit.map { value }
        }
    }
}
