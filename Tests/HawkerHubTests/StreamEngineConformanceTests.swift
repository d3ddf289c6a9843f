import HawkerCluster
import HawkerCommerce
import HawkerHub
import HawkerProtocol
import HawkerState
import HawkerTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// The one suite every `StreamEngine` passes, on real event loops: one order per stream
/// for every subscriber whatever loop published, exactly the events after a subscriber's
/// position, resume by replay or snapshot, streams that exist only once created, room
/// commands and their pushes (staff-only ones to staff only), and checkouts that never
/// oversell, give stock back when abandoned or failed, and answer a retry with the
/// first answer.
///
/// Every wait has a generous deadline and nothing asserts on timings.
@Suite struct StreamEngineConformanceTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible, Sendable {
        /// The hub on one event loop: every stream at home everywhere.
        case hubOneLoop = "hub (1 loop)"
        /// The hub on two event loops: streams homed on either, subscribers on both.
        case hubTwoLoops = "hub (2 loops)"
        /// The hub on two loops with a state store: events go out once the store has them.
        case hubWithStore = "hub (2 loops, state store)"
        /// One cluster node on a real Redis: leases, the Redis store, its channel.
        case clusterNode = "cluster (1 node, Redis)"
        /// Two cluster nodes on one Redis: what changes a stream goes to one node, the
        /// subscribers and reads are on the other (which mirrors the stream, or runs it
        /// when it subscribed first and forwards the changes).
        case clusterTwoNodes = "cluster (2 nodes, Redis)"

        var testDescription: String { rawValue }

        /// Every kind that can run here: the cluster kinds need redis-server (always
        /// under CI).
        static var available: [Kind] {
            RedisServer.enabled ? allCases : allCases.filter { $0 != .clusterNode && $0 != .clusterTwoNodes }
        }
    }

    @Test(arguments: Kind.available)
    func everySubscriberOnEveryLoopSeesOneOrder(_ kind: Kind) async throws {
        let engine = try await EngineHarness.make(kind)
        let name = stream("order")
        _ = try await engine.streams.publish(announcement("first"), to: name).get()
        let subscribers = try await engine.loops.flatMap { loop in [loop, loop] }.asyncMap { loop in
            try await engine.subscribe(name, on: loop)
        }
        // Two publishers on different loops at once: the stream still has one order.
        let receipts = try await withThrowingTaskGroup(of: [PublishReceipt].self) { group in
            for publisher in 0..<2 {
                let loop = engine.loops[publisher % engine.loops.count]
                group.addTask {
                    var receipts: [PublishReceipt] = []
                    for index in 0..<100 {
                        receipts.append(try await loop.flatSubmit { engine.streams.publish(announcement("p\(publisher)-\(index)"), to: name) }.get())
                    }
                    return receipts
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(receipts.map(\.position.seq).sorted() == Array(2...201))
        #expect(Set(receipts.map(\.position.epoch)).count == 1)
        var orders: [[String]] = []
        for subscriber in subscribers {
            let frames = try await subscriber.recorder.events(count: 200)
            #expect(frames.map(\.seq) == Array(2...201))
            orders.append(try frames.map { try text(of: $0) })
        }
        #expect(Set(orders).count == 1, "every subscriber sees the same order")
        // Each publisher's events keep the order it published them in.
        let first = try #require(orders.first)
        for publisher in 0..<2 {
            #expect(first.filter { $0.hasPrefix("p\(publisher)-") } == (0..<100).map { "p\(publisher)-\($0)" })
        }
        await engine.shutdown()
    }

    @Test(arguments: Kind.available)
    func aSubscriberGetsExactlyTheEventsAfterItsPosition(_ kind: Kind) async throws {
        let engine = try await EngineHarness.make(kind)
        let name = stream("position")
        for index in 0..<5 { _ = try await engine.streams.publish(announcement("before-\(index)"), to: name).get() }
        let viewer = try await engine.subscribe(name, on: engine.loops.last!)
        #expect(viewer.outcome.position.seq == 5)
        guard case .snapshot = viewer.outcome.start else {
            Issue.record("a new subscriber starts from the state")
            return
        }
        let state = try parse(try #require(viewer.outcome.stateJSON))
        #expect(state["announcement"]?["text"] == "before-4")
        for index in 0..<5 { _ = try await engine.streams.publish(announcement("after-\(index)"), to: name).get() }
        let frames = try await viewer.recorder.events(count: 5)
        #expect(frames.map(\.seq) == [6, 7, 8, 9, 10])
        #expect(try frames.map { try text(of: $0) } == (0..<5).map { "after-\($0)" })
        await engine.shutdown()
    }

    @Test(arguments: Kind.available)
    func aResumeReplaysWhatWasMissedAndAnUnknownEpochGetsTheState(_ kind: Kind) async throws {
        let engine = try await EngineHarness.make(kind)
        let name = stream("resume")
        var receipts: [PublishReceipt] = []
        for index in 0..<6 { receipts.append(try await engine.streams.publish(announcement("e\(index)"), to: name).get()) }
        let missed = try await engine.subscribe(name, since: receipts[2].position, on: engine.loops[0])
        guard case .replay(let frames) = missed.outcome.start else {
            Issue.record("a resume within history replays")
            return
        }
        #expect(frames.map(\.seq) == [4, 5, 6])
        #expect(missed.outcome.position == receipts[5].position)

        let current = try await engine.subscribe(name, since: receipts[5].position, on: engine.loops[0])
        guard case .replay(let none) = current.outcome.start else {
            Issue.record("a resume at the current position replays nothing")
            return
        }
        #expect(none.isEmpty)

        let stranger = try await engine.subscribe(name, since: StreamPosition(epoch: "0000000000000000", seq: 3), on: engine.loops[0])
        guard case .snapshot = stranger.outcome.start else {
            Issue.record("another epoch cannot be replayed")
            return
        }
        #expect(stranger.outcome.stateJSON != nil)
        await engine.shutdown()
    }

    @Test(arguments: Kind.available)
    func aStreamExistsOnceCreated(_ kind: Kind) async throws {
        let engine = try await EngineHarness.make(kind)
        let name = stream("not-yet")
        #expect(try await engine.streams.snapshot(of: name).get() == nil)
        #expect(try await engine.streams.insights(of: name).get() == nil)
        await #expect(throws: HubError.streamNotFound) {
            _ = try await engine.streams.subscribe(name, since: nil, creator: nil, on: engine.loops[0]).get()
        }
        await #expect(throws: HubError.streamNotFound) {
            _ = try await engine.streams.perform(.chat(text: "hello"), by: viewer("ana"), on: name).get()
        }
        // One that may create it (a host) subscribes first: empty, seq 0, new epoch.
        let host = try await engine.subscribe(name, creator: .gateway, staff: true, on: engine.loops[0])
        #expect(host.outcome.position.seq == 0)
        let snapshot = try #require(try await engine.streams.snapshot(of: name).get())
        #expect(snapshot.position == host.outcome.position)
        #expect(try parse(snapshot.stateJSON)["stream"]?["status"] == "idle")
        #expect(try await engine.streams.insights(of: name).get() != nil)
        let receipt = try await engine.streams.publish(announcement("on air"), to: name).get()
        #expect(receipt.position == StreamPosition(epoch: host.outcome.position.epoch, seq: 1))
        await engine.shutdown()
    }

    @Test(arguments: Kind.available)
    func anUnsubscribedSubscriberGetsNothingMore(_ kind: Kind) async throws {
        let engine = try await EngineHarness.make(kind)
        let name = stream("leaving")
        _ = try await engine.streams.publish(announcement("hello"), to: name).get()
        let leaving = try await engine.subscribe(name, on: engine.loops.last!)
        let staying = try await engine.subscribe(name, on: engine.loops.last!)
        _ = try await engine.streams.publish(announcement("one"), to: name).get()
        _ = try await leaving.recorder.events(count: 1)
        let loop = engine.loops.last!
        try await loop.submit { engine.streams.unsubscribe(leaving.recorder, from: name, eventLoop: loop) }.get()
        _ = try await engine.streams.publish(announcement("two"), to: name).get()
        #expect(try await staying.recorder.events(count: 2).map(\.seq) == [2, 3])
        #expect(leaving.recorder.snapshot.events.map(\.seq) == [2])
        await engine.shutdown()
    }

    @Test(arguments: Kind.available)
    func roomCommandsRunInTheStreamAndStaffPushesReachStaffOnly(_ kind: Kind) async throws {
        let engine = try await EngineHarness.make(kind)
        let name = stream("room")
        _ = try await engine.streams.publish(catalog([("tee", 2_000)]), to: name).get()
        let host = try await engine.subscribe(name, staff: true, on: engine.loops[0])
        let fan = try await engine.subscribe(name, on: engine.loops.last!)
        let outcome = try await engine.streams.perform(.chat(text: "love it"), by: viewer("ana"), on: name).get()
        guard case .reply = outcome else {
            Issue.record("a chat message is answered, not published: \(outcome)")
            return
        }
        _ = try await engine.streams.perform(.intent(product: "tee", variant: nil, action: .addToCart), by: viewer("ben"), on: name).get()
        // Chat leaves in a batch on the room's tick, to everyone.
        for subscriber in [host, fan] {
            let chat = try await subscriber.recorder.push("chat")
            #expect(chat["messages"]?.arrayValue?.first?["text"] == "love it")
        }
        _ = try await host.recorder.push("intents.summary")
        // What the stream sends a loop arrives in order: once an event published after
        // the summary reached the fan, a summary for it would have too.
        _ = try await engine.streams.publish(announcement("later"), to: name).get()
        _ = try await fan.recorder.events { try text(of: $0) == "later" }
        #expect(try fan.recorder.pushTypes().contains("intents.summary") == false)
        // The stream's lifetime counters saw the message.
        let insights = try parse(try #require(try await engine.streams.insights(of: name).get()))
        #expect(insights["chat"]?["messages"] == 1)
        await engine.shutdown()
    }

    /// A quote is priced where the stream runs (forwarded by a node that only mirrors it):
    /// what ships to the destination and what the cart costs, refused as a checkout would
    /// be, with nothing held; a stream that does not exist answers nil.
    @Test(arguments: Kind.available)
    func quotesPriceACartWhereTheStreamRunsAndHoldNothing(_ kind: Kind) async throws {
        let engine = try await EngineHarness.make(kind)
        let name = stream("quote")
        let products: JSONValue = [
            ["id": "tee", "title": "Tee", "merchant": "m1", "price": 2_000, "currency": "EUR", "stock": 10],
            ["id": "beret", "title": "Beret", "merchant": "m2", "price": 900, "currency": "EUR", "regions": ["FR"]],
        ]
        _ = try await engine.streams.publish(draft(.catalogSet, ["products": products]), to: name).get()
        let paris = try #require(
            try await engine.streams.quote(
                QuoteRequest(lines: [.init(product: "tee", variant: nil, quantity: 2), .init(product: "beret", variant: nil, quantity: 1)], shipTo: "FR"),
                on: name
            ).get())
        #expect(try paris.get().charges.map(\.merchant) == ["m1", "m2"])
        #expect(try paris.get().charges.totals?.map(\.amount) == [4_900])
        #expect(try paris.get().notShipping.isEmpty)
        let berlin = try #require(try await engine.streams.quote(QuoteRequest(lines: [], shipTo: "DE"), on: name).get())
        #expect(try berlin.get().notShipping == ["beret"])
        let refused = try #require(
            try await engine.streams.quote(QuoteRequest(lines: [.init(product: "beret", variant: nil, quantity: 1)], shipTo: "DE"), on: name).get())
        guard case .failure(let rejection) = refused else {
            Issue.record("a beret quoted to Germany: \(refused)")
            return
        }
        #expect(rejection.reason == .regionNotServed && rejection.product == "beret")
        #expect(try await stock(of: "tee", in: name, engine) == 10)
        #expect(try await engine.streams.quote(QuoteRequest(lines: [], shipTo: "DE"), on: stream("nowhere")).get() == nil)
        await engine.shutdown()
    }

    @Test(arguments: Kind.available)
    func checkoutsFromEveryLoopNeverOversellAndStockComesBack(_ kind: Kind) async throws {
        let engine = try await EngineHarness.make(kind)
        let name = stream("drop")
        _ = try await engine.streams.publish(catalog([("tee", 2_000)]), to: name).get()
        _ = try await engine.streams.publish(draft(.productPinned, ["product": "tee"]), to: name).get()
        let watcher = try await engine.subscribe(name, on: engine.loops.last!)
        @Sendable func request(_ key: String) -> CheckoutRequest {
            CheckoutRequest(lines: [.init(product: "tee", variant: nil, quantity: 1, priceSeen: 2_000)], shipTo: "DE", idempotencyKey: key)
        }
        // 40 buyers for 10 units, from every loop at once.
        let outcomes = try await withThrowingTaskGroup(of: StreamRoom.CheckoutOutcome.self) { group in
            for index in 0..<40 {
                let loop = engine.loops[index % engine.loops.count]
                group.addTask {
                    try await loop.flatSubmit {
                        engine.streams.checkout(request("k"), buyer: "buyer-\(index)", checkoutID: "ck-\(index)", on: name)
                    }.get()
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let reserved = outcomes.compactMap { try? $0.result.get() }
        #expect(reserved.count == 10)
        #expect(outcomes.filter { (try? $0.result.get()) == nil }.allSatisfy(isSoldOut))
        #expect(try await stock(of: "tee", in: name, engine) == 0)

        // A retry with the same buyer and key is the first answer again.
        let winner = try #require(reserved.first)
        let retry = try await engine.streams.checkout(request("k"), buyer: winner.buyer, checkoutID: "ck-retry", on: name).get()
        #expect(retry.replayed)
        #expect(try retry.result.get().checkoutID == winner.checkoutID)

        // An abandoned reservation (not recorded) and a failed order give their unit back.
        engine.streams.abandon(reserved[1], on: name)
        engine.streams.settle(checkoutID: reserved[2].checkoutID, merchant: "m1", confirmed: false, on: name)
        engine.streams.settle(checkoutID: reserved[3].checkoutID, merchant: "m1", confirmed: true, on: name)
        try await eventually { try await stock(of: "tee", in: name, engine) == 2 }
        // Subscribers hear of it: the last `stock.changed` they got says level 2.
        try await eventually {
            let last = try watcher.recorder.snapshot.events.last { try kindOf($0) == "stock.changed" }
            return try last.map { try parse(payloadOf($0))["data"]?["level"] } == 2
        }
        // The confirmed unit taken back: the host's money nets it out on the stream's node.
        engine.streams.returned(reserved[3], on: name)
        try await eventually {
            let money = try parse(try #require(try await engine.streams.insights(of: name).get()))["money"]?.arrayValue?.first
            return money?["returned_units"] == 1 && money?["returned_revenue"] == 2_000
        }
        // The abandoned key is forgotten: that buyer's retry runs again and gets a unit.
        let again = try await engine.streams.checkout(request("k"), buyer: reserved[1].buyer, checkoutID: "ck-again", on: name).get()
        #expect(!again.replayed)
        #expect((try? again.result.get()) != nil)
        await engine.shutdown()
    }

    @Test(arguments: Kind.available)
    func theBusiestStreamsComeFirst(_ kind: Kind) async throws {
        let engine = try await EngineHarness.make(kind)
        for (index, name) in ["quiet", "busy", "middle"].enumerated() {
            _ = try await engine.streams.publish(announcement("x"), to: stream(name)).get()
            for _ in 0..<[0, 3, 1][index] { _ = try await engine.subscribe(stream(name), on: engine.loops.last!) }
        }
        let busiest = try await engine.streams.busiestStreams(limit: 2, on: engine.loops[0]).get()
        #expect(busiest.map(\.stream.rawValue) == ["busy", "middle"])
        #expect(busiest.map(\.subscribers) == [3, 1])
        await engine.shutdown()
    }
}

// MARK: - Harness

/// An engine of one kind on its own event loops.
struct EngineHarness: Sendable {
    let streams: any StreamEngine
    let loops: [any EventLoop]
    private let group: MultiThreadedEventLoopGroup
    /// The cluster kinds' nodes and Redis.
    private var cluster: ClusterHarness?

    static func make(_ kind: StreamEngineConformanceTests.Kind) async throws -> EngineHarness {
        switch kind {
        case .hubOneLoop, .hubTwoLoops:
            let group = MultiThreadedEventLoopGroup(numberOfThreads: kind == .hubOneLoop ? 1 : 2)
            let loops = Array(group.makeIterator())
            return EngineHarness(streams: Hub(loops: loops), loops: loops, group: group)
        case .hubWithStore:
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            let loops = Array(group.makeIterator())
            return EngineHarness(streams: Hub(loops: loops, journal: StateJournal(store: MemoryStateStore())), loops: loops, group: group)
        case .clusterNode, .clusterTwoNodes:
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            let loops = Array(group.makeIterator())
            let cluster = try await ClusterHarness.start(nodes: kind == .clusterNode ? 1 : 2, loops: loops)
            let streams: any StreamEngine = kind == .clusterNode ? cluster.nodes[0] : SplitEngine(changes: cluster.nodes[0], views: cluster.nodes[1])
            return EngineHarness(streams: streams, loops: loops, group: group, cluster: cluster)
        }
    }

    struct Subscription: Sendable {
        let outcome: SubscribeOutcome
        let recorder: ConcurrentRecorder
    }

    /// Subscribes a recorder living on `loop` and activates it in the same loop tick, as
    /// a session does.
    func subscribe(
        _ stream: StreamID, since: StreamPosition? = nil, creator: StreamCreator? = nil, staff: Bool = false, on loop: any EventLoop
    ) async throws -> Subscription {
        let recorder = ConcurrentRecorder(eventLoop: loop)
        let streams = self.streams
        let outcome = try await streams.subscribe(stream, since: since, creator: creator, on: loop).map { outcome in
            streams.activate(recorder, on: stream, staff: staff, eventLoop: loop)
            return outcome
        }.get()
        return Subscription(outcome: outcome, recorder: recorder)
    }

    func shutdown() async {
        await cluster?.stop()
        try? await group.shutdownGracefully()
    }
}

/// A subscriber on a real event loop that keeps what it receives.
final class ConcurrentRecorder: StreamSubscriber, Sendable {
    struct Received: Sendable {
        var events: [BroadcastFrame] = []
        var pushes: [BroadcastFrame] = []
    }

    let eventLoop: any EventLoop
    private let received = NIOLockedValueBox(Received())

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func receive(_ frame: BroadcastFrame, from stream: StreamID) -> (any BroadcastFlusher)? {
        eventLoop.preconditionInEventLoop()
        received.withLockedValue { frame.seq == 0 ? $0.pushes.append(frame) : $0.events.append(frame) }
        return nil
    }

    var snapshot: Received { received.withLockedValue { $0 } }

    /// The first `count` events, once that many arrived.
    func events(count: Int) async throws -> [BroadcastFrame] {
        try await eventually { self.snapshot.events.count >= count }
        return Array(snapshot.events.prefix(count))
    }

    /// The events that match, once at least one has arrived.
    func events(where matches: @escaping @Sendable (BroadcastFrame) throws -> Bool) async throws -> [BroadcastFrame] {
        try await eventually { try self.snapshot.events.contains(where: matches) }
        return try snapshot.events.filter(matches)
    }

    /// The body of the first push of `type`, once it arrived.
    func push(_ type: String) async throws -> JSONValue {
        try await eventually { try self.pushTypes().contains(type) }
        let frame = try #require(try snapshot.pushes.first { try kindOf($0, field: "type") == type })
        return try parse(payloadOf(frame))
    }

    func pushTypes() throws -> [String] {
        try snapshot.pushes.map { try kindOf($0, field: "type") }
    }
}

// MARK: - Helpers

private struct NotYet: Error, CustomStringConvertible {
    var description: String { "the condition did not hold within 10 s" }
}

/// Waits for `condition`, polling; fails after a generous deadline (not a timing claim).
private func eventually(_ condition: @Sendable () async throws -> Bool) async throws {
    for _ in 0..<1_000 {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw NotYet()
}

private func viewer(_ user: String) -> Author {
    Author(user: user, name: user.uppercased(), role: "viewer", isStaff: false)
}

private func payloadOf(_ frame: BroadcastFrame) throws -> ByteBuffer {
    var plain = frame.plain
    let second = try #require(plain.getInteger(at: plain.readerIndex + 1, as: UInt8.self)) & 0x7F
    plain.moveReaderIndex(forwardBy: second < 126 ? 2 : (second == 126 ? 4 : 10))
    return plain
}

private func parse(_ buffer: ByteBuffer) throws -> JSONValue {
    try JSONParser.parse(buffer)
}

private func kindOf(_ frame: BroadcastFrame, field: String = "kind") throws -> String {
    try parse(payloadOf(frame))[field]?.stringValue ?? ""
}

private func text(of frame: BroadcastFrame) throws -> String {
    try parse(payloadOf(frame))["data"]?["text"]?.stringValue ?? ""
}

private func isSoldOut(_ outcome: StreamRoom.CheckoutOutcome) -> Bool {
    if case .failure(let rejection) = outcome.result { return rejection.reason == .soldOut }
    return false
}

private func stock(of product: String, in stream: StreamID, _ engine: EngineHarness) async throws -> Int64? {
    guard let snapshot = try await engine.streams.snapshot(of: stream).get() else { return nil }
    let catalog = try parse(snapshot.stateJSON)["catalog"]?.arrayValue ?? []
    return catalog.first { $0["id"]?.stringValue == product }?["stock"]?.intValue
}

extension Array where Element: Sendable {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
