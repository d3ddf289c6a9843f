import HawkerCommerce
import HawkerHub
import HawkerProtocol
import HawkerState
import NIOCore
import NIOPosix
import Testing

/// A hub with a state store, restarted: a second hub on the same store brings every
/// stream back as the first left it.
@Suite struct HubRestoreTests {
    /// Both hubs read this clock, so that time-dependent state (sale countdowns) compares.
    static let clock: @Sendable () -> Int64 = { 1_800_000_000_000 }

    struct Running {
        let hub: Hub
        let group: MultiThreadedEventLoopGroup
        var loops: [any EventLoop] { Array(group.makeIterator()) }
    }

    static func start(_ store: any StateStore, saveInterval: Int64 = 1_000) async throws -> Running {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var configuration = HubConfiguration()
        configuration.stateSaveIntervalMilliseconds = saveInterval
        let hub = Hub(loops: Array(group.makeIterator()), configuration: configuration, journal: StateJournal(store: store), clock: clock)
        _ = try await hub.restore()
        return Running(hub: hub, group: group)
    }

    static let name = stream("restore")
    static let host = Author(user: "host", name: nil, role: "host", isStaff: true)
    static let viewer = Author(user: "v1", name: nil, role: "viewer", isStaff: false)

    /// A sale's worth of state: catalog, pin, price drop, a running sale, an
    /// announcement, a question and a ban.
    static func sell(on hub: Hub) async throws {
        _ = try await hub.publish(catalog([("a", 1_000), ("b", 2_000)]), to: name).get()
        _ = try await hub.publish(draft(.productPinned, ["product": "a"]), to: name).get()
        _ = try await hub.publish(price("b", 1_500), to: name).get()
        _ = try await hub.publish(draft(.saleStarted, ["sale": "s1", "items": [["product": "a", "price": 800]], "duration_ms": 600_000]), to: name).get()
        _ = try await hub.perform(.ask(text: "does it come in blue?"), by: viewer, on: name).get()
        _ = try await hub.perform(.moderate(.ban(user: "troll")), by: host, on: name).get()
        _ = try await hub.publish(announcement("last units"), to: name).get()
    }

    /// The state a joiner gets, without what moves by itself (time, the viewer count).
    static func state(_ hub: Hub) async throws -> (StreamPosition, JSONValue) {
        let snapshot = try #require(try await hub.snapshot(of: name).get())
        guard case .object(var state) = try parseJSON(snapshot.stateJSON) else { throw RestoreFailure("state is not an object") }
        state["server_time"] = nil
        state["viewers"] = nil
        return (snapshot.position, .object(state))
    }

    static func insights(_ hub: Hub) async throws -> JSONValue {
        try parseJSON(try #require(try await hub.insights(of: name).get()))
    }

    struct RestoreFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test func aCleanRestartBringsBackTheStreamAsItWas() async throws {
        let store = MemoryStateStore()
        let first = try await Self.start(store)
        try await Self.sell(on: first.hub)
        let (position, state) = try await Self.state(first.hub)
        let insights = try await Self.insights(first.hub)
        await first.hub.saveAndFlush()
        try await first.group.shutdownGracefully()

        let second = try await Self.start(store)
        let (restoredPosition, restoredState) = try await Self.state(second.hub)
        #expect(restoredPosition == position, "same epoch and seq")
        #expect(restoredState == state)
        #expect(try await Self.insights(second.hub) == insights)
        // The ban holds after the restart.
        await #expect(throws: HubError.self) {
            _ = try await second.hub.perform(.chat(text: "hello"), by: Author(user: "troll", name: nil, role: "viewer", isStaff: false), on: Self.name).get()
        }
        try await second.group.shutdownGracefully()
    }

    @Test func aViewerResumesAcrossTheRestartWithExactlyTheEventsItMissed() async throws {
        let store = MemoryStateStore()
        let first = try await Self.start(store)
        try await Self.sell(on: first.hub)
        let (seen, _) = try await Self.state(first.hub)
        for index in 1...3 { _ = try await first.hub.publish(announcement("missed \(index)"), to: Self.name).get() }
        await first.hub.saveAndFlush()
        try await first.group.shutdownGracefully()

        let second = try await Self.start(store)
        let loop = second.loops[0]
        let outcome = try await second.hub.subscribe(Self.name, since: seen, creator: nil, on: loop).get()
        guard case .replay(let frames) = outcome.start else {
            Issue.record("expected a replay, got a snapshot")
            return
        }
        #expect(frames.map(\.seq) == [seen.seq + 1, seen.seq + 2, seen.seq + 3])
        let texts = try frames.map { try framePayload($0.plain).objectValue?["data"]?.objectValue?["text"]?.stringValue }
        #expect(texts == ["missed 1", "missed 2", "missed 3"])
        #expect(outcome.position.epoch == seen.epoch && outcome.position.seq == seen.seq + 3)
        // The next event continues the same sequence.
        let next = try await second.hub.publish(announcement("after"), to: Self.name).get()
        #expect(next.position.seq == seen.seq + 4 && next.position.epoch == seen.epoch)
        try await second.group.shutdownGracefully()
    }

    /// A `kill -9`: no final save. Rooms were saved only before the sale; the events after
    /// it are replayed from the store, so the commerce state is still exact.
    @Test func withoutAFinalSaveTheEventsAfterTheLastSaveAreReplayed() async throws {
        let store = MemoryStateStore()
        let first = try await Self.start(store, saveInterval: 600_000)
        try await Self.sell(on: first.hub)
        let (position, state) = try await Self.state(first.hub)
        // Every publish above was acknowledged, so the store has every event; no room was
        // saved (the interval is ten minutes) and the hub is dropped without a flush.
        try await first.group.shutdownGracefully()

        let second = try await Self.start(store)
        let (restoredPosition, restoredState) = try await Self.state(second.hub)
        #expect(restoredPosition == position)
        guard case .object(var expected) = state, case .object(var restored) = restoredState else { return }
        // Questions are the room's, not events: they come back only with a saved room.
        expected["questions"] = nil
        restored["questions"] = nil
        guard case .array(let products) = restored["catalog"] ?? .null, case .array(let sales) = restored["sales"] ?? .null else {
            Issue.record("the restored state has no catalog or sales: \(restored)")
            return
        }
        #expect(products.count == 2 && sales.count == 1 && restored["announcement"] != nil, "the replayed events rebuilt the sale")
        #expect(JSONValue.object(restored) == JSONValue.object(expected))
        try await second.group.shutdownGracefully()
    }

    @Test func anUnstoredStreamIsNotFoundAfterTheRestart() async throws {
        let store = MemoryStateStore()
        let first = try await Self.start(store)
        _ = try await first.hub.publish(announcement("one"), to: Self.name).get()
        await first.hub.saveAndFlush()
        try await first.group.shutdownGracefully()
        let second = try await Self.start(store)
        #expect(try await second.hub.snapshot(of: stream("never-published")).get() == nil)
        #expect(try await second.hub.snapshot(of: Self.name).get() != nil)
        try await second.group.shutdownGracefully()
    }
}
