import HawkerCommerce
import HawkerHub
import HawkerProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

/// The hub on one EmbeddedEventLoop: every hop is a queued task, run by `loop.run()`.
@Suite("Hub (one embedded loop)")
struct HubTests {

    private static let now: Int64 = 1_732_660_000_000

    private func makeHub(_ loop: EmbeddedEventLoop, configuration: HubConfiguration = HubConfiguration()) -> Hub {
        Hub(loops: [loop], configuration: configuration, clock: { Self.now })
    }

    @discardableResult
    private func publish(_ hub: Hub, _ loop: EmbeddedEventLoop, _ draft: EventDraft, to name: String = "shop-42") throws -> PublishReceipt {
        let future = hub.publish(draft, to: stream(name))
        loop.run()
        return try #require(completedResult(future)).get()
    }

    private func subscribe(
        _ hub: Hub, _ loop: EmbeddedEventLoop, _ name: String = "shop-42", since: StreamPosition? = nil, create: Bool = false,
        activate subscriber: RecordingSubscriber? = nil
    ) throws -> SubscribeOutcome {
        let future = hub.subscribe(stream(name), since: since, creator: create ? .gateway : nil, on: loop)
        loop.run()
        let outcome = try #require(completedResult(future)).get()
        if let subscriber { hub.activate(subscriber, on: stream(name), staff: false, eventLoop: loop) }
        return outcome
    }

    private func replayed(_ outcome: SubscribeOutcome) -> [UInt64]? {
        if case .replay(let frames) = outcome.start { return frames.map(\.seq) }
        return nil
    }

    // MARK: - Publish, then subscribe

    @Test func publishReturnsTheReceipt() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop)
        let first = try publish(hub, loop, announcement("a"))
        let second = try publish(hub, loop, announcement("b"))
        #expect(first.stream == stream("shop-42"))
        #expect(first.position.seq == 1)
        #expect(second.position.seq == 2)
        #expect(first.position.epoch == second.position.epoch)
        #expect(first.position.epoch.count == 16)
        #expect(first.timestamp == Self.now)
    }

    @Test func lateSubscriberGetsTheTypedStateNotTheHistory() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop)
        try publish(hub, loop, catalog([("sku-1", 1799), ("sku-2", 500)]))
        try publish(hub, loop, draft(.streamStarted, ["title": "Show"]))
        try publish(hub, loop, draft(.productPinned, ["product": "sku-1"]))
        try publish(hub, loop, price("sku-1", 1499))
        let receipt = try publish(hub, loop, announcement("hello"))

        let outcome = try subscribe(hub, loop)
        guard case .snapshot = outcome.start else {
            Issue.record("snapshot expected")
            return
        }
        #expect(outcome.position == receipt.position)
        let state = try parseJSON(try #require(outcome.stateJSON))
        #expect(state["server_time"] == .int(Self.now))
        #expect(state["stream"] == ["status": "live", "title": "Show", "started_at": .int(Self.now)])
        #expect(state["pinned"] == ["sku-1"])
        #expect(state["announcement"] == ["text": "hello", "ts": .int(Self.now)])
        #expect(state["viewers"] == 1)
        guard case .array(let products) = state["catalog"] ?? .null else {
            Issue.record("catalog expected")
            return
        }
        #expect(products.map { $0["id"] } == ["sku-1", "sku-2"])
        #expect(products[0]["price"] == 1499)
        #expect(products[0]["previous_price"] == 1799)
        #expect(products[1]["previous_price"] == nil)
    }

    @Test func eventsTheStateRefusesAreNotSequenced() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop)
        try publish(hub, loop, catalog([("sku-1", 100)]))
        let future = hub.publish(draft(.productPinned, ["product": "nope"]), to: stream("shop-42"))
        loop.run()
        #expect(throws: HubError.self) { try completedResult(future)?.get() }
        let next = try publish(hub, loop, draft(.productPinned, ["product": "sku-1"]))
        #expect(next.position.seq == 2)
    }

    @Test func snapshotOfTheHTTPAPI() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop)
        let missing = hub.snapshot(of: stream("nope"))
        loop.run()
        #expect(try #require(completedResult(missing)).get() == nil)

        try publish(hub, loop, announcement("x"))
        let future = hub.snapshot(of: stream("shop-42"))
        loop.run()
        let result = try #require(completedResult(future))
        let snapshot = try #require(try result.get())
        #expect(snapshot.position.seq == 1)
        #expect(try parseJSON(snapshot.stateJSON)["announcement"] == ["text": "x", "ts": .int(Self.now)])
    }

    // MARK: - Live delivery

    @Test func activeSubscriberReceivesFramesInOrderWithOneFlushPerBatch() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop)
        let subscriber = RecordingSubscriber(eventLoop: loop)
        let outcome = try subscribe(hub, loop, create: true, activate: subscriber)
        #expect(outcome.position.seq == 0)

        // Three publishes queued together: one batch.
        let futures = (1...3).map { hub.publish(announcement("n\($0)"), to: stream("shop-42")) }
        loop.run()
        #expect(futures.allSatisfy { completedResult($0) != nil })
        #expect(subscriber.seqs == [1, 2, 3])
        #expect(subscriber.flushes == 1)

        // A later publish is a batch of its own.
        try publish(hub, loop, announcement("n4"))
        #expect(subscriber.seqs == [1, 2, 3, 4])
        #expect(subscriber.flushes == 2)

        // The frames are complete WebSocket text frames of `event` messages.
        let last = try #require(subscriber.frames.last)
        #expect(last.plain.getInteger(at: last.plain.readerIndex, as: UInt8.self) == 0x81)
        let json = try framePayload(last.plain)
        #expect(json.objectValue?["type"] == "event")
        #expect(json.objectValue?["seq"] == 4)
        #expect(json.objectValue?["epoch"] == .string(outcome.position.epoch))
        #expect(json.objectValue?["data"] == ["text": "n4"])
    }

    @Test func everySubscriberOfTheLoopGetsEveryFrame() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop)
        let subscribers = (0..<3).map { _ in RecordingSubscriber(eventLoop: loop) }
        for subscriber in subscribers { _ = try subscribe(hub, loop, create: true, activate: subscriber) }
        for n in 1...4 { try publish(hub, loop, announcement("n\(n)")) }
        for subscriber in subscribers {
            #expect(subscriber.seqs == [1, 2, 3, 4])
            #expect(subscriber.flushes == 4)
        }
    }

    @Test func otherStreamsAreNotDelivered() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop)
        let subscriber = RecordingSubscriber(eventLoop: loop)
        _ = try subscribe(hub, loop, "a", create: true, activate: subscriber)
        try publish(hub, loop, announcement("x"), to: "b")
        #expect(subscriber.frames.isEmpty)
        #expect(subscriber.flushes == 0)
    }

    @Test func largeEventsGetADeflatedFrame() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop, configuration: HubConfiguration(compressionMinBytes: 300))
        let subscriber = RecordingSubscriber(eventLoop: loop)
        _ = try subscribe(hub, loop, create: true, activate: subscriber)
        try publish(hub, loop, announcement(String(repeating: "sale! ", count: 80)))
        try publish(hub, loop, announcement("short"))
        let large = try #require(subscriber.frames.first)
        let deflated = try #require(large.deflated)
        #expect(deflated.getInteger(at: deflated.readerIndex, as: UInt8.self) == 0xC1)  // FIN + RSV1 + text
        #expect(deflated.readableBytes < large.plain.readableBytes)
        #expect(subscriber.frames.last?.deflated == nil)
    }

    @Test func unsubscribeStopsDelivery() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop)
        let staying = RecordingSubscriber(eventLoop: loop)
        let leaving = RecordingSubscriber(eventLoop: loop)
        _ = try subscribe(hub, loop, create: true, activate: staying)
        _ = try subscribe(hub, loop, create: true, activate: leaving)
        try publish(hub, loop, announcement("1"))

        hub.unsubscribe(leaving, from: stream("shop-42"), eventLoop: loop)
        loop.run()
        try publish(hub, loop, announcement("2"))
        #expect(leaving.seqs == [1])
        #expect(staying.seqs == [1, 2])

        hub.unsubscribe(staying, from: stream("shop-42"), eventLoop: loop)
        loop.run()
        try publish(hub, loop, announcement("3"))
        #expect(staying.seqs == [1, 2])
    }

    // MARK: - Missing streams and limits

    @Test func subscribeToAMissingStreamWithoutCreate() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop)
        let future = hub.subscribe(stream("nope"), since: nil, creator: nil, on: loop)
        loop.run()
        let result = try #require(completedResult(future))
        #expect(throws: HubError.streamNotFound) { try result.get() }

        // Nor was it created.
        let snapshot = hub.snapshot(of: stream("nope"))
        loop.run()
        #expect(try #require(completedResult(snapshot)).get() == nil)
    }

    @Test func subscribeToAMissingStreamWithCreate() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop)
        let outcome = try subscribe(hub, loop, "new-show", create: true)
        guard case .snapshot = outcome.start else {
            Issue.record("snapshot expected")
            return
        }
        #expect(outcome.position.seq == 0)
        let state = try parseJSON(try #require(outcome.stateJSON))
        #expect(state["catalog"] == [])
        #expect(state["stream"] == ["status": "idle"])

        // The first event continues the same epoch.
        let receipt = try publish(hub, loop, announcement("hi"), to: "new-show")
        #expect(receipt.position == StreamPosition(epoch: outcome.position.epoch, seq: 1))
    }

    @Test func maxStreamsIsEnforced() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop, configuration: HubConfiguration(maxStreams: 2))
        try publish(hub, loop, announcement("x"), to: "one")
        _ = try subscribe(hub, loop, "two", create: true)

        let refused = hub.publish(announcement("x"), to: stream("three"))
        loop.run()
        let publishResult = try #require(completedResult(refused))
        #expect(throws: HubError.tooManyStreams) { try publishResult.get() }

        let refusedSubscribe = hub.subscribe(stream("three"), since: nil, creator: .gateway, on: loop)
        loop.run()
        let subscribeResult = try #require(completedResult(refusedSubscribe))
        #expect(throws: HubError.tooManyStreams) { try subscribeResult.get() }

        // Existing streams still work.
        #expect(try publish(hub, loop, announcement("y"), to: "one").position.seq == 2)
        #expect(try publish(hub, loop, announcement("y"), to: "two").position.seq == 1)
    }

    // MARK: - Resume

    @Test func resumeWithSinceGetsExactlyTheMissedFrames() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop)
        let subscriber = RecordingSubscriber(eventLoop: loop)
        let first = try subscribe(hub, loop, create: true, activate: subscriber)
        for n in 1...3 { try publish(hub, loop, announcement("n\(n)")) }
        #expect(subscriber.seqs == [1, 2, 3])

        // The connection drops after seq 3; events 4...6 happen while it is away.
        hub.unsubscribe(subscriber, from: stream("shop-42"), eventLoop: loop)
        loop.run()
        for n in 4...6 { try publish(hub, loop, announcement("n\(n)")) }

        let resumed = RecordingSubscriber(eventLoop: loop)
        let since = StreamPosition(epoch: first.position.epoch, seq: 3)
        let outcome = try subscribe(hub, loop, since: since, activate: resumed)
        #expect(replayed(outcome) == [4, 5, 6])
        #expect(outcome.stateJSON == nil)
        #expect(outcome.position.seq == 6)

        // Live events continue right after the replay.
        try publish(hub, loop, announcement("n7"))
        #expect(resumed.seqs == [7])
    }

    @Test func resumeWithAForeignEpochGetsASnapshot() throws {
        let loop = EmbeddedEventLoop()
        let hub = makeHub(loop)
        for n in 1...2 { try publish(hub, loop, announcement("n\(n)")) }
        let outcome = try subscribe(hub, loop, since: StreamPosition(epoch: "0000000000000000", seq: 1))
        #expect(replayed(outcome) == nil)
        #expect(outcome.stateJSON != nil)
    }
}

/// The room's tick on an embedded loop: time only moves when the test moves it.
@Suite("Hub rooms (one embedded loop)")
struct HubRoomTests {
    private static let now: Int64 = 1_732_660_000_000

    private func subscribe(_ hub: Hub, _ loop: EmbeddedEventLoop, _ subscriber: RecordingSubscriber, staff: Bool) throws {
        let future = hub.subscribe(stream("room"), since: nil, creator: nil, on: loop)
        loop.run()
        _ = try #require(completedResult(future)).get()
        hub.activate(subscriber, on: stream("room"), staff: staff, eventLoop: loop)
    }

    private func perform(_ hub: Hub, _ loop: EmbeddedEventLoop, _ action: StreamAction, by author: Author) throws -> RoomOutcome {
        let future = hub.perform(action, by: author, on: stream("room"))
        loop.run()
        return try #require(completedResult(future)).get()
    }

    private func types(_ subscriber: RecordingSubscriber) throws -> [String] {
        try subscriber.pushes.map { try framePayload($0.plain)["type"]?.stringValue ?? "" }
    }

    @Test func chatAndQuestionsLeaveOnTheTickToTheirAudience() throws {
        let loop = EmbeddedEventLoop()
        let hub = Hub(loops: [loop], clock: { Self.now })
        let created = hub.publish(catalog([("a", 100)]), to: stream("room"))
        loop.run()
        _ = try #require(completedResult(created)).get()
        let viewerSide = RecordingSubscriber(eventLoop: loop)
        let staffSide = RecordingSubscriber(eventLoop: loop)
        try subscribe(hub, loop, viewerSide, staff: false)
        try subscribe(hub, loop, staffSide, staff: true)

        let author = Author(user: "v", name: nil, role: "viewer", isStaff: false)
        guard case .reply(let type, _) = try perform(hub, loop, .chat(text: "nice"), by: author) else {
            Issue.record("expected a reply")
            return
        }
        #expect(type == .chatAccepted)
        _ = try perform(hub, loop, .intent(product: "a", variant: nil, action: .view), by: author)
        // Nothing leaves before the tick.
        #expect(viewerSide.pushes.isEmpty)
        loop.advanceTime(by: .milliseconds(100))
        #expect(try types(viewerSide).sorted() == ["chat", "presence", "social_proof"])
        #expect(try types(staffSide).sorted() == ["chat", "intents.summary", "presence", "social_proof"])

        // A missing stream is not created by a chat.
        let missing = hub.perform(.chat(text: "hello?"), by: author, on: stream("nowhere"))
        loop.run()
        #expect(throws: HubError.streamNotFound) { try completedResult(missing)?.get() }
    }

    @Test func answeringAQuestionPublishesAnEvent() throws {
        let loop = EmbeddedEventLoop()
        let hub = Hub(loops: [loop], clock: { Self.now })
        let created = hub.publish(announcement("hi"), to: stream("room"))
        loop.run()
        _ = try #require(completedResult(created)).get()
        let subscriber = RecordingSubscriber(eventLoop: loop)
        try subscribe(hub, loop, subscriber, staff: false)
        guard case .reply(_, let body) = try perform(hub, loop, .ask(text: "Is it vegan?"), by: Author(user: "v", name: nil, role: "viewer", isStaff: false)),
            let id = body["question"]?["id"]?.stringValue
        else {
            Issue.record("expected question.accepted")
            return
        }
        guard case .published(let receipt) = try perform(hub, loop, .answer(question: id, answer: "Yes"), by: Author(user: "h", name: nil, role: "host", isStaff: true)) else {
            Issue.record("expected published")
            return
        }
        #expect(receipt.position.seq == 2)
        #expect(subscriber.seqs == [2])
        #expect(try framePayload(try #require(subscriber.frames.last).plain)["kind"] == "question.answered")
    }
}

/// Sales start and end on the server's clock, without anyone publishing.
@Suite("Hub sale timers (one embedded loop)")
struct HubSaleTimerTests {
    @Test func aScheduledSaleStartsAndEndsByItself() throws {
        let loop = EmbeddedEventLoop()
        let start: Int64 = 1_732_660_000_000
        let clock = NIOLockedValueBox<Int64>(start)
        let hub = Hub(loops: [loop], clock: { clock.withLockedValue { $0 } })
        func publish(_ draft: EventDraft) throws {
            let future = hub.publish(draft, to: stream("sale"))
            loop.run()
            _ = try #require(completedResult(future)).get()
        }
        try publish(catalog([("a", 1_000)]))
        try publish(draft(.saleScheduled, ["sale": "s", "items": [["product": "a", "price": 800]], "starts_at": .int(start + 1_000), "duration_ms": 2_000]))
        let viewer = RecordingSubscriber(eventLoop: loop)
        let subscribed = hub.subscribe(stream("sale"), since: nil, creator: nil, on: loop)
        loop.run()
        _ = try #require(completedResult(subscribed)).get()
        hub.activate(viewer, on: stream("sale"), staff: false, eventLoop: loop)

        func advance(_ milliseconds: Int64) {
            clock.withLockedValue { $0 += milliseconds }
            loop.advanceTime(by: .milliseconds(milliseconds))
        }
        advance(900)
        #expect(viewer.frames.isEmpty)
        advance(200)
        #expect(try viewer.frames.map { try framePayload($0.plain)["kind"] } == ["sale.started"])
        advance(2_000)
        let kinds = try viewer.frames.map { try framePayload($0.plain)["kind"] }
        #expect(kinds == ["sale.started", "sale.ended"])
        #expect(try framePayload(try #require(viewer.frames.last).plain)["data"]?["reason"] == "time")
    }
}
