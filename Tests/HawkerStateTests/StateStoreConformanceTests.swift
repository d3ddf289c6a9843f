import Foundation
import GRDB
import HawkerCommerce
import HawkerProtocol
import HawkerRedis
import HawkerTestSupport
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import HawkerState

/// What every `StateStore` must do, run against each implementation: the SQLite store of a
/// single gateway, the in-memory one, and the cluster's Redis store (against a real
/// redis-server with an append-only file, restarted where a test reopens the store).
/// SQLite runs every test twice: through `apply` and through `applyNow`, as the journal
/// writes it (the memory store's `apply` is its `applyNow`).
@Suite struct StateStoreConformanceTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case memory
        case sqlite
        /// SQLite written through `applyNow`, as the journal writes it.
        case sqliteNow = "sqlite, applyNow"
        case redis

        var testDescription: String { rawValue }

        /// The kinds this machine can run: Redis when redis-server is installed (or CI demands it).
        static var available: [Kind] { allCases.filter { $0 != .redis || RedisServer.enabled } }
    }

    /// A store under test, and how to open it again as a restarted gateway would.
    final class Harness: Sendable {
        let kind: Kind
        let store: any StateStore
        private let path: String?
        private let redis: (server: RedisServer, client: RedisClient, task: Task<Void, any Error>)?

        init(_ kind: Kind) async throws {
            self.kind = kind
            switch kind {
            case .memory:
                path = nil
                redis = nil
                store = MemoryStateStore()
            case .sqlite, .sqliteNow:
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-state-\(UUID().uuidString).sqlite").path
                self.path = path
                redis = nil
                store = try Self.sqlite(kind, path: path)
            case .redis:
                path = nil
                let server = try await RedisServer.start(appendOnly: true)
                var configuration = try RedisConfiguration(url: server.url)
                configuration.reconnectBackoff = (.milliseconds(10), .milliseconds(100))
                let client = RedisClient(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
                redis = (server, client, Task { try await client.run() })
                try await Self.connected(client)
                store = RedisStateStore(redis: client, prefix: "test")
            }
        }

        deinit { redis?.task.cancel() }

        private static func sqlite(_ kind: Kind, path: String) throws -> any StateStore {
            let store = try SQLiteStateStore(path: path)
            return kind == .sqliteNow ? WritingNow(store) : store
        }

        /// Until a command goes through: right after a restart the client may not have seen
        /// its old connection close yet.
        private static func connected(_ client: RedisClient) async throws {
            for _ in 0..<2_000 {
                if (try? await client.send(RedisCommand("PING"))) == .simpleString("PONG") { return }
                try await Task.sleep(for: .milliseconds(10))
            }
            throw RedisServer.Failure(description: "the client did not connect to redis-server")
        }

        /// The same contents through a new instance (a restart): SQLite opens its file
        /// again, Redis is killed and restarted from its append-only file; the memory
        /// store has only the one.
        func reopened() async throws -> any StateStore {
            switch kind {
            case .memory:
                return store
            case .sqlite, .sqliteNow:
                try await store.close()
                return try Self.sqlite(kind, path: path!)
            case .redis:
                try await store.close()
                let (server, client, _) = redis!
                try await server.restart()
                try await Self.connected(client)
                return RedisStateStore(redis: client, prefix: "test")
            }
        }
    }

    /// A synchronous store whose `apply` is its `applyNow`: the suite's writes go the way
    /// the journal sends them.
    final class WritingNow: StateStore {
        let inner: any SynchronousStateStore
        init(_ inner: any SynchronousStateStore) { self.inner = inner }

        func load() async throws -> [StoredStream] { try await inner.load() }
        func loadInventory() async throws -> StoredInventory { try await inner.loadInventory() }
        func apply(_ changes: [StateChange]) async throws -> Set<StreamID> { try inner.applyNow(changes) }
        func archived(_ stream: StreamID) async throws -> StoredStream? { try await inner.archived(stream) }
        func pruneArchive(before: Int64) async throws -> Int { try await inner.pruneArchive(before: before) }
        func close() async throws { try await inner.close() }
    }

    static let a = StreamID("stream-a")!
    static let b = StreamID("stream-b")!

    static func event(_ seq: UInt64, _ text: String = "x") -> StoredEvent {
        StoredEvent(seq: seq, timestamp: 1_000 + Int64(seq), payload: Data(#"{"type":"event","seq":\#(seq),"text":"\#(text)"}"#.utf8))
    }

    @Test(arguments: Kind.available)
    func createdStreamsComeBackInCreationOrderWithTheirEvents(kind: Kind) async throws {
        let harness = try await Harness(kind)
        try await harness.store.apply([
            .created(Self.b, epoch: "e-b", createdAt: 10, owner: "host-1"),
            .created(Self.a, epoch: "e-a", createdAt: 20, owner: nil),
            .appended(Self.b, Self.event(1)), .appended(Self.a, Self.event(1)), .appended(Self.b, Self.event(2)),
        ])
        try await harness.store.apply([.appended(Self.b, Self.event(3, "third"))])
        let loaded = try await harness.reopened().load()
        #expect(loaded.map(\.stream) == [Self.b, Self.a])
        #expect(loaded[0].epoch == "e-b" && loaded[0].owner == "host-1" && loaded[0].createdAt == 10)
        #expect(loaded[0].events == [Self.event(1), Self.event(2), Self.event(3, "third")])
        #expect(loaded[0].seq == 3)
        #expect(loaded[1].events == [Self.event(1)] && loaded[1].owner == nil)
    }

    @Test(arguments: Kind.available)
    func theLastSavedRoomComesBack(kind: Kind) async throws {
        let harness = try await Harness(kind)
        try await harness.store.apply([.created(Self.a, epoch: "e", createdAt: 1, owner: nil)])
        try await harness.store.apply([.roomSaved(Self.a, StoredRoom(seq: 0, savedAt: 5, data: [1, 2, 3]))])
        try await harness.store.apply([.appended(Self.a, Self.event(1)), .roomSaved(Self.a, StoredRoom(seq: 1, savedAt: 6, data: [4, 5]))])
        let loaded = try #require(try await harness.reopened().load().first)
        #expect(loaded.room == StoredRoom(seq: 1, savedAt: 6, data: [4, 5]))
    }

    @Test(arguments: Kind.available)
    func trimmingDropsOnlyTheEventsUpToTheGivenSeq(kind: Kind) async throws {
        let harness = try await Harness(kind)
        try await harness.store.apply([.created(Self.a, epoch: "e", createdAt: 1, owner: nil), .created(Self.b, epoch: "f", createdAt: 1, owner: nil)])
        try await harness.store.apply((1...10).map { .appended(Self.a, Self.event($0)) } + (1...3).map { .appended(Self.b, Self.event($0)) })
        try await harness.store.apply([.trimmed(Self.a, through: 7)])
        let loaded = try await harness.reopened().load()
        #expect(loaded[0].events.map(\.seq) == [8, 9, 10])
        #expect(loaded[1].events.map(\.seq) == [1, 2, 3])
    }

    @Test(arguments: Kind.available)
    func creatingAStreamAgainReplacesWhatWasKept(kind: Kind) async throws {
        let harness = try await Harness(kind)
        try await harness.store.apply([
            .created(Self.a, epoch: "old", createdAt: 1, owner: "x"), .appended(Self.a, Self.event(1)),
            .roomSaved(Self.a, StoredRoom(seq: 1, savedAt: 2, data: [9])),
        ])
        try await harness.store.apply([.created(Self.a, epoch: "new", createdAt: 3, owner: nil)])
        let loaded = try #require(try await harness.reopened().load().first)
        #expect(loaded.epoch == "new" && loaded.events.isEmpty && loaded.room == nil && loaded.owner == nil && loaded.seq == 0)
    }

    @Test(arguments: Kind.available)
    func removedStreamsAreGone(kind: Kind) async throws {
        let harness = try await Harness(kind)
        try await harness.store.apply([
            .created(Self.a, epoch: "e", createdAt: 1, owner: nil), .appended(Self.a, Self.event(1)),
            .created(Self.b, epoch: "f", createdAt: 1, owner: nil),
        ])
        try await harness.store.apply([.removed(Self.a)])
        let store = try await harness.reopened()
        #expect(try await store.load().map(\.stream) == [Self.b])
        #expect(try await store.archived(Self.a) == nil)
    }

    @Test(arguments: Kind.available)
    func archivedStreamsKeepTheirRoomForReadingAndArePrunedByAge(kind: Kind) async throws {
        let harness = try await Harness(kind)
        try await harness.store.apply([
            .created(Self.a, epoch: "e", createdAt: 1, owner: nil), .appended(Self.a, Self.event(1)),
            .roomSaved(Self.a, StoredRoom(seq: 1, savedAt: 2, data: [7])),
            .created(Self.b, epoch: "f", createdAt: 1, owner: nil),
        ])
        try await harness.store.apply([.archived(Self.a, at: 100)])
        let store = try await harness.reopened()
        #expect(try await store.load().map(\.stream) == [Self.b], "an archived stream is not brought back to life")
        let archived = try #require(try await store.archived(Self.a))
        #expect(archived.room?.data == [7] && archived.events.isEmpty && archived.archivedAt == 100)
        #expect(try await store.archived(Self.b) == nil, "a live stream is not archived")
        #expect(try await store.pruneArchive(before: 100) == 0)
        #expect(try await store.pruneArchive(before: 101) == 1)
        #expect(try await store.archived(Self.a) == nil)
    }

    @Test(arguments: Kind.available)
    func aBatchWithAFailingChangeAppliesNothing(kind: Kind) async throws {
        let harness = try await Harness(kind)
        try await harness.store.apply([.created(Self.a, epoch: "e", createdAt: 1, owner: nil), .appended(Self.a, Self.event(1))])
        await #expect(throws: StateStoreError.self) {
            try await harness.store.apply([.appended(Self.a, Self.event(2)), .appended(StreamID("never-created")!, Self.event(1))])
        }
        await #expect(throws: StateStoreError.self) {
            try await harness.store.apply([.appended(Self.a, Self.event(3)), .appended(Self.a, Self.event(1, "again"))])
        }
        await #expect(throws: StateStoreError.self) {
            try await harness.store.apply([.trimmed(Self.a, through: 1), .roomSaved(StreamID("never-created")!, StoredRoom(seq: 1, savedAt: 1, data: []))])
        }
        let loaded = try #require(try await harness.reopened().load().first)
        #expect(loaded.events == [Self.event(1)], "the failed batches left nothing behind")
    }

    @Test(arguments: Kind.available)
    func manyStreamsAndEventsComeBackWhole(kind: Kind) async throws {
        let harness = try await Harness(kind)
        let streams = (0..<50).map { StreamID("s\($0)")! }
        try await harness.store.apply(streams.map { .created($0, epoch: "e-\($0.rawValue)", createdAt: 1, owner: nil) })
        for round in 1...40 {
            try await harness.store.apply(streams.map { .appended($0, Self.event(UInt64(round), $0.rawValue)) })
        }
        let loaded = try await harness.reopened().load()
        #expect(loaded.map(\.stream) == streams)
        for stream in loaded {
            #expect(stream.events == (1...40).map { Self.event(UInt64($0), stream.stream.rawValue) })
        }
    }

    @Test(arguments: Kind.available)
    func aClosedStoreAppliesNothing(kind: Kind) async throws {
        let harness = try await Harness(kind)
        try await harness.store.close()
        // `.closed` in particular: the journal tries other failures again.
        let error = await #expect(throws: StateStoreError.self) {
            try await harness.store.apply([.created(Self.a, epoch: "e", createdAt: 1, owner: nil)])
        }
        #expect(error?.kind == .closed)
    }

    @Test(arguments: Kind.available)
    func stockOnHandAndHoldsComeBack(kind: Kind) async throws {
        let harness = try await Harness(kind)
        let tee = SKU(merchant: "m1", product: "tee")
        let cap = SKU(merchant: "m2", product: "cap")
        try await harness.store.apply([
            .stockOnHand(tee, 10), .stockOnHand(cap, 3),
            .reservationOpened(checkoutID: "c1", merchant: "m1", units: [tee: 2]),
            .reservationOpened(checkoutID: "c1", merchant: "m2", units: [cap: 1]),
            .reservationOpened(checkoutID: "c2", merchant: "m1", units: [tee: 1]),
        ])
        // m1 confirms c1: its hold ends and its units leave on hand; m2 fails its part of c1:
        // the hold ends, on hand stays. A restock of 5 and a count of 1 short are deltas.
        try await harness.store.apply([.reservationClosed(checkoutID: "c1", merchant: "m1", confirmed: true)])
        try await harness.store.apply([.stockAdjusted(tee, by: 5, id: "d-5"), .stockAdjusted(tee, by: -1, id: "d--1"), .stockAdjusted(SKU(merchant: "m9", product: "untracked"), by: 3, id: "d-3")])
        try await harness.store.apply([.reservationClosed(checkoutID: "c1", merchant: "m2", confirmed: false), .stockOnHand(cap, nil)])
        try await harness.store.apply([.reservationOpened(checkoutID: "c1", merchant: "m2", units: [cap: 1])])
        let inventory = try await harness.reopened().loadInventory()
        #expect(inventory.onHand == [tee: 12], "10 - 2 confirmed + 5 - 1; an untracked product stays untracked")
        #expect(
            inventory.reservations == [
                .init(checkoutID: "c1", merchant: "m2", units: [cap: 1]), .init(checkoutID: "c2", merchant: "m1", units: [tee: 1]),
            ])
    }

    @Test(arguments: Kind.available)
    func variantLevelsAreTheirOwn(kind: Kind) async throws {
        let harness = try await Harness(kind)
        let tee = SKU(merchant: "m1", product: "tee")
        let small = SKU(merchant: "m1", product: "tee", variant: "s")
        let medium = SKU(merchant: "m1", product: "tee", variant: "m")
        try await harness.store.apply([
            .stockOnHand(tee, 4), .stockOnHand(small, 2), .stockOnHand(medium, 1),
            .reservationOpened(checkoutID: "c1", merchant: "m1", units: [small: 1, tee: 2]),
        ])
        try await harness.store.apply([.stockOnHand(medium, nil)])
        let inventory = try await harness.reopened().loadInventory()
        #expect(inventory.onHand == [tee: 4, small: 2])
        #expect(inventory.reservations == [.init(checkoutID: "c1", merchant: "m1", units: [small: 1, tee: 2])])
    }
}

/// A data directory written before stock was kept per variant opens with its levels and
/// holds as the products' own.
@Suite struct SQLiteStateStoreMigrationTests {
    @Test func aVersion2StoreKeepsItsStock() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-state-v2-\(UUID().uuidString).sqlite").path
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteStateStore.migrator.migrate(queue, upTo: "v2: stock on hand per merchant product, units held by accepted checkouts")
            try await queue.write { db in
                try db.execute(sql: "INSERT INTO stock (merchant, product, on_hand) VALUES ('m1', 'tee', 7)")
                try db.execute(sql: "INSERT INTO reservation (checkout_id, merchant, product, units) VALUES ('c1', 'm1', 'tee', 2)")
            }
        }
        let store = try SQLiteStateStore(path: path)
        let inventory = try await store.loadInventory()
        let tee = SKU(merchant: "m1", product: "tee")
        #expect(inventory.onHand == [tee: 7])
        #expect(inventory.reservations == [.init(checkoutID: "c1", merchant: "m1", units: [tee: 2])])
        try await store.close()
    }
}
