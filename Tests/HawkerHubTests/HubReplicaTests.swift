import Foundation
import HawkerCommerce
import HawkerHub
import HawkerProtocol
import HawkerState
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// Cluster mode's mirror, in process: one hub runs a stream, a second hub (another node)
/// follows it from the shared store and is handed each stored event, as the Redis
/// channel does. Its viewers get the same state, the same events in order, and resume
/// with exactly what they missed.
@Suite struct HubReplicaTests {
    /// Applies to a memory store and hands each appended event on, in commit order (what
    /// `RedisStateStore` publishes on the stream's channel).
    final class PublishingStore: StateStore {
        let inner = MemoryStateStore()
        let appended = NIOLockedValueBox<[(StreamID, StoredEvent)]>([])

        func load() async throws -> [StoredStream] { try await inner.load() }
        func loadInventory() async throws -> StoredInventory { try await inner.loadInventory() }
        func archived(_ stream: StreamID) async throws -> StoredStream? { try await inner.archived(stream) }
        func pruneArchive(before: Int64) async throws -> Int { try await inner.pruneArchive(before: before) }
        func close() async throws { try await inner.close() }

        func apply(_ changes: [StateChange]) async throws -> Set<StreamID> {
            try await inner.apply(changes)
            for change in changes {
                if case .appended(let stream, let event) = change { appended.withLockedValue { $0.append((stream, event)) } }
            }
            return []
        }

        /// The events not handed on yet.
        func take() -> [(StreamID, StoredEvent)] {
            appended.withLockedValue { events in
                defer { events.removeAll() }
                return events
            }
        }
    }

    static let name = HubRestoreTests.name

    static func hub(_ store: any StateStore, group: MultiThreadedEventLoopGroup) -> Hub {
        Hub(loops: Array(group.makeIterator()), configuration: HubConfiguration(), journal: StateJournal(store: store), clock: HubRestoreTests.clock)
    }

    /// A joiner's state without the stock levels: those are the owner's inventory until
    /// the cluster shares it (a replica shows the products without levels).
    static func state(_ hub: Hub) async throws -> (StreamPosition, JSONValue) {
        let (position, state) = try await HubRestoreTests.state(hub)
        guard case .object(var object) = state, case .array(let catalog) = object["catalog"] else { return (position, state) }
        object["catalog"] = .array(
            catalog.map { product in
                guard case .object(var fields) = product else { return product }
                fields["stock"] = nil
                return .object(fields)
            })
        return (position, .object(object))
    }

    static func framePayloadJSON(_ payload: Data) throws -> JSONValue {
        try parseJSON(ByteBuffer(bytes: payload))
    }

    /// An owner hub that sold (`HubRestoreTests.sell`), and a second hub following the
    /// stream from the store; `early`: the events the replica loaded rather than received.
    static func sellAndFollow() async throws -> (
        group: MultiThreadedEventLoopGroup, store: PublishingStore, owner: Hub, node2: Hub, early: [(StreamID, StoredEvent)]
    ) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let store = PublishingStore()
        let owner = Self.hub(store, group: group)
        let node2 = Self.hub(MemoryStateStore(), group: group)
        try await HubRestoreTests.sell(on: owner)
        let early = store.take()
        try await node2.follow(try #require(try await store.load().first { $0.stream == Self.name })).get()
        return (group, store, owner, node2, early)
    }

    /// Hands every event the owner stored so far to the replica.
    static func deliver(_ store: PublishingStore, to replica: Hub) async throws -> [Replication] {
        var outcomes: [Replication] = []
        for (stream, event) in store.take() { outcomes.append(try await replica.replicate(event, to: stream).get()) }
        return outcomes
    }

    @Test func aReplicaShowsTheSameStateAndItsViewersGetEveryEventInOrder() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let store = PublishingStore()
        let owner = Self.hub(store, group: group)
        let node2 = Self.hub(MemoryStateStore(), group: group)
        try await HubRestoreTests.sell(on: owner)
        // The room as saved (its question, its ban) and the events: what the replica loads.
        await owner.saveAndFlush()
        _ = store.take()

        let stored = try #require(try await store.load().first { $0.stream == Self.name })
        try await node2.follow(stored).get()
        let (ownerPosition, ownerState) = try await Self.state(owner)
        let (replicaPosition, replicaState) = try await Self.state(node2)
        #expect(replicaPosition == ownerPosition)
        #expect(replicaState == ownerState, "a late joiner on another node sees the same catalog, pins, prices, sale, question and announcement")

        // A viewer on node 2, live from here.
        let loop = group.next()
        let viewer = RecordingSubscriber(eventLoop: loop)
        let outcome = try await node2.subscribe(Self.name, since: ownerPosition, creator: nil, on: loop).get()
        guard case .replay(let missed) = outcome.start else {
            Issue.record("a viewer up to date resumes, not a snapshot")
            return
        }
        #expect(missed.isEmpty)
        try await loop.submit { node2.activate(viewer, on: Self.name, staff: false, eventLoop: loop) }.get()

        for index in 1...5 { _ = try await owner.publish(announcement("live \(index)"), to: Self.name).get() }
        _ = try await owner.publish(price("a", 900), to: Self.name).get()
        #expect(try await Self.deliver(store, to: node2) == Array(repeating: .applied, count: 6))
        try await loop.submit {}.get()
        let seqs = try await loop.submit { viewer.seqs }.get()
        #expect(seqs == Array((ownerPosition.seq + 1)...(ownerPosition.seq + 6)), "every event once, in order")
        let (afterOwner, stateOwner) = try await Self.state(owner)
        let (afterReplica, stateReplica) = try await Self.state(node2)
        #expect(afterReplica == afterOwner && stateReplica == stateOwner, "the replica's room moved on with the events (the price drop)")
        try await group.shutdownGracefully()
    }

    @Test func aViewerResumesOnTheReplicaWithExactlyWhatItMissed() async throws {
        let (group, store, owner, node2, _) = try await Self.sellAndFollow()
        // The viewer saw this much on the owner, then its node went away.
        let (seen, _) = try await HubRestoreTests.state(owner)
        for index in 1...3 { _ = try await owner.publish(announcement("missed \(index)"), to: Self.name).get() }
        _ = try await Self.deliver(store, to: node2)

        let outcome = try await node2.subscribe(Self.name, since: seen, creator: nil, on: group.next()).get()
        guard case .replay(let frames) = outcome.start else {
            Issue.record("expected a replay (recovered: true), got a snapshot")
            return
        }
        let texts = try frames.map { try framePayload($0.plain).objectValue?["data"]?.objectValue?["text"]?.stringValue }
        #expect(texts == ["missed 1", "missed 2", "missed 3"])
        #expect(outcome.position == StreamPosition(epoch: seen.epoch, seq: seen.seq + 3))
        try await group.shutdownGracefully()
    }

    @Test func theOwnersChatBatchReachesTheReplicasViewersOnce() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let store = PublishingStore()
        let pushes = NIOLockedValueBox<[(StreamID, StreamPush)]>([])
        let owner = Hub(
            loops: Array(group.makeIterator()), configuration: HubConfiguration(), journal: StateJournal(store: store), clock: Hub.systemClock,
            onPush: { stream, push in pushes.withLockedValue { $0.append((stream, push)) } })
        let node2 = Self.hub(MemoryStateStore(), group: group)
        _ = try await owner.publish(catalog([("a", 1_000)]), to: Self.name).get()
        await owner.saveAndFlush()
        _ = store.take()
        try await node2.follow(try #require(try await store.load().first { $0.stream == Self.name })).get()
        let loop = group.next()
        let viewer = RecordingSubscriber(eventLoop: loop)
        _ = try await node2.subscribe(Self.name, since: nil, creator: nil, on: loop).get()
        try await loop.submit { node2.activate(viewer, on: Self.name, staff: false, eventLoop: loop) }.get()

        _ = try await owner.perform(.chat(text: "hello from node 1"), by: HubRestoreTests.viewer, on: Self.name).get()
        var chat: StreamPush?
        for _ in 0..<500 where chat == nil {
            chat = pushes.withLockedValue { $0 }.first { (try? Self.framePayloadJSON($0.1.payload))?.objectValue?["type"]?.stringValue == "chat" }?.1
            if chat == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let batch = try #require(chat, "the owner's tick sends the chat batch")
        #expect(StreamChannelMessage(StreamChannelMessage.push(batch).encoded) == .push(batch), "as it crosses Redis")
        #expect(try await node2.replicate(batch, to: Self.name).get() == .applied)
        try await loop.submit {}.get()
        let received = try await loop.submit { viewer.pushes }.get()
        #expect(received.count == 1)
        let message = try framePayload(try #require(received.first).plain)
        #expect(message.objectValue?["type"]?.stringValue == "chat")
        #expect("\(message)".contains("hello from node 1"))
        #expect(try await owner.replicate(batch, to: Self.name).get() == .notFollowed, "the owner does not take its own pushes back")
        try await group.shutdownGracefully()
    }

    @Test func aReplicaLoadedAgainAfterAGapSendsItsViewersWhatTheyMissed() async throws {
        let (group, store, owner, node2, _) = try await Self.sellAndFollow()
        let loop = group.next()
        let viewer = RecordingSubscriber(eventLoop: loop)
        let (position, _) = try await HubRestoreTests.state(owner)
        _ = try await node2.subscribe(Self.name, since: position, creator: nil, on: loop).get()
        try await loop.submit { node2.activate(viewer, on: Self.name, staff: false, eventLoop: loop) }.get()
        // Three events this node never got (its channel dropped them), then a load.
        for index in 1...3 { _ = try await owner.publish(announcement("lost \(index)"), to: Self.name).get() }
        _ = store.take()
        try await node2.follow(try #require(try await store.load().first { $0.stream == Self.name })).get()
        try await loop.submit {}.get()
        #expect(try await loop.submit { viewer.seqs }.get() == [position.seq + 1, position.seq + 2, position.seq + 3])
        try await group.shutdownGracefully()
    }

    @Test func aReplicaTakesNoCommandsAndNoticesDuplicatesAndGaps() async throws {
        let (group, store, owner, node2, early) = try await Self.sellAndFollow()

        await #expect(throws: HubError.runsElsewhere) { try await node2.publish(announcement("not here"), to: Self.name).get() }
        await #expect(throws: HubError.runsElsewhere) {
            try await node2.perform(.ask(text: "where?"), by: HubRestoreTests.viewer, on: Self.name).get()
        }
        // Messages that crossed the load: already in the replica.
        for (stream, event) in early { #expect(try await node2.replicate(event, to: stream).get() == .duplicate) }
        _ = try await owner.publish(announcement("one"), to: Self.name).get()
        _ = try await owner.publish(announcement("two"), to: Self.name).get()
        let two = store.take()
        #expect(try await node2.replicate(two[1].1, to: Self.name).get() == .gap, "a skipped event is a gap: load again")
        #expect(try await node2.replicate(two[0].1, to: Self.name).get() == .applied)
        #expect(try await node2.replicate(two[1].1, to: Self.name).get() == .applied)
        #expect(try await node2.replicate(two[1].1, to: stream("elsewhere")).get() == .notFollowed)
        // The stream began again elsewhere: seq 1 of another epoch is a gap, not a duplicate.
        let epoch = try await HubRestoreTests.state(owner).0.epoch
        let first = try #require(early.first?.1)
        let reborn = StoredEvent(
            seq: first.seq, timestamp: first.timestamp,
            payload: Data(String(decoding: first.payload, as: UTF8.self).replacingOccurrences(of: epoch, with: "another-epoch").utf8))
        #expect(reborn.payload != first.payload)
        #expect(try await node2.replicate(reborn, to: Self.name).get() == .gap)
        try await node2.unfollow(Self.name).get()
        #expect(try await node2.replicate(two[1].1, to: Self.name).get() == .notFollowed)
        #expect(try await node2.snapshot(of: Self.name).get() == nil, "forgotten, and nothing archived for it")
        #expect(try await store.load().contains { $0.stream == Self.name }, "the owner's stream is untouched")
        try await group.shutdownGracefully()
    }
}
