import Foundation
import HawkerCommerce
import HawkerProtocol
import HawkerRedis
import HawkerTestSupport
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import HawkerState

/// What the Redis store does for a cluster beyond `StateStore`: stream leases with fencing
/// tokens, writes refused to a node that lost its lease, and every stored change published
/// on its stream's channel by the same script that stores it.
@Suite(.enabled(if: RedisServer.enabled, "redis-server is not installed")) struct RedisClusterWritesTests {
    static let stream = StreamID("live-1")!

    /// A redis-server, a running client, and the messages it received.
    final class Setup: Sendable {
        let server: RedisServer
        let client: RedisClient
        let task: Task<Void, any Error>
        let messages = NIOLockedValueBox<[RedisMessage]>([])

        init() async throws {
            server = try await RedisServer.start()
            var configuration = try RedisConfiguration(url: server.url)
            configuration.reconnectBackoff = (.milliseconds(10), .milliseconds(100))
            let client = RedisClient(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
            self.client = client
            let messages = self.messages
            client.setHandlers(onMessage: { message in messages.withLockedValue { $0.append(message) } }, onEvent: { _ in })
            task = Task { try await client.run() }
            try await eventually("connected") { client.isAvailable }
        }

        deinit { task.cancel() }

        /// Subscribes once the pub/sub connection is up (it may come after the other).
        func subscribe(_ channel: String) async throws {
            try await eventually("subscribed to \(channel)") { (try? await client.subscribe([channel], sharded: false)) != nil }
        }

        func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
            for _ in 0..<2_000 {
                if try await condition() { return }
                try await Task.sleep(for: .milliseconds(10))
            }
            throw RedisServer.Failure(description: "not reached in 20 s: \(what)")
        }
    }

    @Test func oneNodeHoldsAStreamAndEveryNewHolderGetsALargerToken() async throws {
        let setup = try await Setup()
        let leases = RedisStreamLeases(redis: setup.client, prefix: "t")
        guard case .acquired(let first) = try await leases.acquire(Self.stream, node: "node a", ttlMilliseconds: 10_000) else {
            Issue.record("a free stream is acquired")
            return
        }
        #expect(first.node == "node a" && first.token == 1)
        #expect(try await leases.acquire(Self.stream, node: "node-b", ttlMilliseconds: 10_000) == .heldBy(first))
        #expect(try await leases.acquire(Self.stream, node: "node a", ttlMilliseconds: 10_000) == .acquired(first), "the holder renews")
        try await leases.release(Self.stream, StreamLease(node: "node-b", token: 1))
        #expect(try await leases.holder(Self.stream) == first, "only the holder releases")
        try await leases.release(Self.stream, first)
        #expect(try await leases.holder(Self.stream) == nil)
        #expect(try await leases.acquire(Self.stream, node: "node-b", ttlMilliseconds: 100) == .acquired(StreamLease(node: "node-b", token: 2)))
        // Not renewed: it expires, and the next holder's token is larger again.
        try await setup.eventually("the lease expires") { try await leases.holder(Self.stream) == nil }
        #expect(try await leases.renew(Self.stream, StreamLease(node: "node-b", token: 2), ttlMilliseconds: 1_000) == false)
        #expect(try await leases.acquire(Self.stream, node: "node a", ttlMilliseconds: 10_000) == .acquired(StreamLease(node: "node a", token: 3)))
        #expect(try await leases.renew(Self.stream, StreamLease(node: "node a", token: 3), ttlMilliseconds: 10_000))
    }

    @Test func aNodeThatLostItsLeaseWritesNothingToTheStream() async throws {
        let setup = try await Setup()
        let leases = RedisStreamLeases(redis: setup.client, prefix: "t")
        let held = NIOLockedValueBox<[String: StreamLease]>([:])
        let fenced = NIOLockedValueBox<[String: [StreamID]]>([:])
        func store(_ node: String) -> RedisStateStore {
            RedisStateStore(
                redis: setup.client, prefix: "t",
                cluster: .init(
                    lease: { stream in held.withLockedValue { $0[node] }.flatMap { stream == Self.stream ? $0 : nil } },
                    fencedOff: { streams in fenced.withLockedValue { $0[node, default: []] += streams } }))
        }
        let a = store("a")
        let b = store("b")
        guard case .acquired(let leaseA) = try await leases.acquire(Self.stream, node: "a", ttlMilliseconds: 60_000) else { throw RedisServer.Failure(description: "no lease") }
        held.withLockedValue { $0["a"] = leaseA }
        try await a.apply([.created(Self.stream, epoch: "e1", createdAt: 1, owner: nil), .appended(Self.stream, StateStoreConformanceTests.event(1))])
        // b has no lease: its change to the stream is dropped, its stock change is kept.
        let tee = SKU(merchant: "m", product: "tee")
        let dropped = try await b.apply([.appended(Self.stream, StateStoreConformanceTests.event(2, "from b")), .stockOnHand(tee, 5)])
        #expect(dropped == [Self.stream], "the journal hears it: its publishers get notStored")
        #expect(fenced.withLockedValue { $0["b"] } == [Self.stream])
        // a's lease ends and b takes the stream: now a is the one refused.
        try await leases.release(Self.stream, leaseA)
        guard case .acquired(let leaseB) = try await leases.acquire(Self.stream, node: "b", ttlMilliseconds: 60_000) else { throw RedisServer.Failure(description: "no lease") }
        held.withLockedValue { $0["b"] = leaseB }
        try await a.apply([.appended(Self.stream, StateStoreConformanceTests.event(2, "late from a"))])
        #expect(fenced.withLockedValue { $0["a"] } == [Self.stream])
        try await b.apply([.appended(Self.stream, StateStoreConformanceTests.event(2, "b's")), .roomSaved(Self.stream, StoredRoom(seq: 2, savedAt: 9, data: [1]))])
        let stored = try #require(try await b.load(Self.stream))
        #expect(stored.events == [StateStoreConformanceTests.event(1), StateStoreConformanceTests.event(2, "b's")])
        #expect(stored.room?.seq == 2)
        #expect(try await b.loadInventory().onHand == [tee: 5])
    }

    /// Stock is Redis's in a cluster: a hold is kept only while its units are available
    /// there (on hand − held by every node), so two nodes selling one product from their
    /// own views never sell more than there is. Confirmed holds leave on hand, failed ones
    /// give their units back, restocks are deltas that do not overwrite the other node's.
    @Test func holdsAreRefusedPastTheUnitsRedisHas() async throws {
        let setup = try await Setup()
        let refused = NIOLockedValueBox<[String: [String]]>([:])
        func store(_ node: String) -> RedisStateStore {
            RedisStateStore(
                redis: setup.client, prefix: "t",
                cluster: .init(
                    lease: { _ in nil }, fencedOff: { _ in },
                    holdsRefused: { holds in refused.withLockedValue { $0[node, default: []] += holds.map(\.checkoutID) } }))
        }
        let a = store("a")
        let b = store("b")
        let tee = SKU(merchant: "m1", product: "tee")
        try await a.apply([.stockOnHand(tee, 3)])
        // Each node believes 3 are available; together they would sell 4.
        try await a.apply([.reservationOpened(checkoutID: "a1", merchant: "m1", units: [tee: 2])])
        try await b.apply([
            .reservationOpened(checkoutID: "b1", merchant: "m1", units: [tee: 2]), .reservationOpened(checkoutID: "b2", merchant: "m1", units: [tee: 1]),
        ])
        #expect(refused.withLockedValue { $0 } == ["b": ["b1"]])
        var stock = try await a.loadStock()
        #expect(stock[tee]?.onHand == 3 && stock[tee]?.held == 3)
        // The same hold sent again (a lost answer) is kept once, not refused.
        try await b.apply([.reservationOpened(checkoutID: "b2", merchant: "m1", units: [tee: 1])])
        #expect(refused.withLockedValue { $0["b"] } == ["b1"])
        // a's order is confirmed (2 leave on hand), b's fails (1 back); b restocks 4 while a
        // counts one short: deltas, both kept.
        try await a.apply([.reservationClosed(checkoutID: "a1", merchant: "m1", confirmed: true)])
        try await b.apply([.reservationClosed(checkoutID: "b2", merchant: "m1", confirmed: false), .stockAdjusted(tee, by: 4, id: "d4")])
        try await a.apply([.stockAdjusted(tee, by: -1, id: "d-1")])
        // The same delta sent again (a batch whose answer was lost) counts once.
        try await a.apply([.stockAdjusted(tee, by: -1, id: "d-1")])
        stock = try await b.loadStock([tee, SKU(merchant: "m1", product: "untracked")])
        #expect(stock.count == 1)
        #expect(stock[tee]?.onHand == 4 && stock[tee]?.held == 0)
        #expect(try await a.loadInventory().reservations.isEmpty)
    }

    @Test func storedChangesArePublishedInOrderOnTheStreamsChannel() async throws {
        let setup = try await Setup()
        let channel = StreamChannelMessage.channel(Self.stream, prefix: "t")
        try await setup.subscribe(channel)
        let store = RedisStateStore(redis: setup.client, prefix: "t", cluster: .init(lease: { _ in nil }, fencedOff: { _ in }))
        let leases = RedisStreamLeases(redis: setup.client, prefix: "t")
        // Without a lease nothing is stored, so nothing is published.
        try await store.apply([.created(Self.stream, epoch: "e0", createdAt: 1, owner: nil)])
        guard case .acquired(let lease) = try await leases.acquire(Self.stream, node: "n", ttlMilliseconds: 60_000) else { throw RedisServer.Failure(description: "no lease") }
        let leased = RedisStateStore(redis: setup.client, prefix: "t", cluster: .init(lease: { _ in lease }, fencedOff: { _ in }))
        let binary = StoredEvent(seq: 3, timestamp: 7, payload: Data([0, 10, 13, 255]))
        try await leased.apply([
            .created(Self.stream, epoch: "e1", createdAt: 1, owner: "host"), .appended(Self.stream, StateStoreConformanceTests.event(1)),
            .appended(Self.stream, StateStoreConformanceTests.event(2)),
        ])
        try await leased.apply([.appended(Self.stream, binary), .trimmed(Self.stream, through: 1), .archived(Self.stream, at: 99)])
        try await setup.eventually("five messages") { setup.messages.withLockedValue { $0.count } >= 5 }
        let received = setup.messages.withLockedValue { $0 }.map { StreamChannelMessage($0.payload.readableBytesView) }
        #expect(
            received == [
                .created(epoch: "e1"), .event(StateStoreConformanceTests.event(1)), .event(StateStoreConformanceTests.event(2)), .event(binary), .ended,
            ])
    }

    /// A batch whose answer was lost (the connection dropped after it was sent) is sent
    /// again by the journal: the events kept already are no conflict, and nothing doubles.
    @Test func aBatchSentAgainIsKeptOnce() async throws {
        let setup = try await Setup()
        let store = RedisStateStore(redis: setup.client, prefix: "t")
        let batch: [StateChange] = [
            .created(Self.stream, epoch: "e", createdAt: 1, owner: nil), .appended(Self.stream, StateStoreConformanceTests.event(1)),
        ]
        try await store.apply(batch)
        let next: [StateChange] = [.appended(Self.stream, StateStoreConformanceTests.event(2)), .appended(Self.stream, StateStoreConformanceTests.event(3))]
        try await store.apply(next)
        try await store.apply(next)
        await #expect(throws: StateStoreError.self, "another event under a kept seq is still a conflict") {
            try await store.apply([.appended(Self.stream, StateStoreConformanceTests.event(3, "different"))])
        }
        let stored = try #require(try await store.load(Self.stream))
        #expect(stored.events == (1...3).map { StateStoreConformanceTests.event($0) })
    }

    @Test func channelMessagesReadBack() {
        let messages: [StreamChannelMessage] = [
            .event(StoredEvent(seq: 9_007_199_254_740_991, timestamp: -1, payload: Data("{\"a\":\"\\n\"}\n".utf8))), .created(epoch: "ep-1"), .ended,
            .push(StreamPush(audience: .staff, coalescingKey: "questions.top", itemCount: 3, payload: Data("{}".utf8))),
            .push(StreamPush(audience: .everyone, coalescingKey: nil, itemCount: 0, payload: Data())),
        ]
        for message in messages { #expect(StreamChannelMessage(message.encoded) == message) }
        for bad in ["", "E1\n", "E1 x\nbody", "Q\n", "E 1\n"] { #expect(StreamChannelMessage(Array(bad.utf8)) == nil, "\(bad)") }
    }
}
