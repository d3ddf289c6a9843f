import HawkerHub
import HawkerProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

/// At `maxStreams`, idle streams without subscribers make room; busy ones never do.
@Suite struct HubEvictionTests {
    @Test func aFullHubEvictsTheLongestIdleStreamWithoutSubscribers() throws {
        let loop = EmbeddedEventLoop()
        let now = NIOLockedValueBox<Int64>(1_000_000)
        let hub = Hub(loops: [loop], configuration: HubConfiguration(maxStreams: 2, idleStreamMilliseconds: 60_000), clock: { now.withLockedValue { $0 } })
        func publish(_ name: String) -> Result<PublishReceipt, any Error>? {
            let future = hub.publish(announcement("x"), to: stream(name))
            loop.run()
            return completedResult(future)
        }
        _ = try #require(publish("old")).get()
        now.withLockedValue { $0 += 10_000 }
        _ = try #require(publish("watched")).get()
        let subscription = hub.subscribe(stream("watched"), since: nil, creator: nil, on: loop)
        loop.run()
        _ = try #require(completedResult(subscription)).get()

        // Not idle long enough yet: refused.
        #expect(throws: HubError.tooManyStreams) { try #require(publish("new")).get() }

        now.withLockedValue { $0 += 120_000 }
        // "old" is idle and unwatched; "watched" has a subscriber however idle it is.
        #expect(try #require(publish("new")).get().position.seq == 1)
        let snapshot = hub.snapshot(of: stream("old"))
        loop.run()
        #expect(try #require(completedResult(snapshot)).get() == nil)
        let watched = hub.snapshot(of: stream("watched"))
        loop.run()
        #expect(try #require(completedResult(watched)).get() != nil)
    }

    /// A refusal at the limit does not scan again before a stream could have become
    /// idle, and is still lifted as soon as one has.
    @Test func refusalsAtTheLimitWaitForTheEarliestIdleStream() throws {
        let loop = EmbeddedEventLoop()
        let now = NIOLockedValueBox<Int64>(1_000_000)
        let hub = Hub(loops: [loop], configuration: HubConfiguration(maxStreams: 1, idleStreamMilliseconds: 60_000), clock: { now.withLockedValue { $0 } })
        func publish(_ name: String) -> Result<PublishReceipt, any Error>? {
            let future = hub.publish(announcement("x"), to: stream(name))
            loop.run()
            return completedResult(future)
        }
        _ = try #require(publish("first")).get()
        for step in 0..<5 {
            now.withLockedValue { $0 += 10_000 }
            #expect(throws: HubError.tooManyStreams, "step \(step)") { try #require(publish("second")).get() }
        }
        // 60 s after "first"'s last event it is evictable: the refusal is lifted on time.
        now.withLockedValue { $0 = 1_060_000 }
        #expect(try #require(publish("second")).get().position.seq == 1)
    }

    /// Streams a user creates count against its quota until the hub drops them; the
    /// gateway's own streams never do.
    @Test func streamsCountAgainstTheirCreatorUntilDropped() throws {
        final class Allowance: StreamOwnership {
            let held = NIOLockedValueBox<[String: Int]>([:])
            func claimStream(for owner: String) -> Bool {
                held.withLockedValue { held in
                    guard held[owner, default: 0] < 2 else { return false }
                    held[owner, default: 0] += 1
                    return true
                }
            }
            func releaseStream(of owner: String) { held.withLockedValue { $0[owner, default: 0] -= 1 } }
        }
        let loop = EmbeddedEventLoop()
        let now = NIOLockedValueBox<Int64>(1_000_000)
        let allowance = Allowance()
        let hub = Hub(
            loops: [loop], configuration: HubConfiguration(maxStreams: 3, idleStreamMilliseconds: 60_000), ownership: allowance,
            clock: { now.withLockedValue { $0 } }
        )
        func publish(_ name: String, as creator: StreamCreator) -> Result<PublishReceipt, any Error>? {
            let future = hub.publish(announcement("x"), to: stream(name), creator: creator)
            loop.run()
            return completedResult(future)
        }
        func tick() { now.withLockedValue { $0 += 1_000 } }
        _ = try #require(publish("a1", as: .user("ana"))).get()
        tick()
        _ = try #require(publish("a2", as: .user("ana"))).get()
        tick()
        #expect(throws: HubError.streamQuotaReached) { try #require(publish("a3", as: .user("ana"))).get() }
        // Others and the gateway are apart; publishing again to a stream she has costs nothing.
        _ = try #require(publish("g1", as: .gateway)).get()
        tick()
        _ = try #require(publish("a1", as: .user("ana"))).get()
        #expect(allowance.held.withLockedValue { $0["ana"] } == 2)
        // A subscriber that may create (a host) creates within the same quota.
        let refused = hub.subscribe(stream("a4"), since: nil, creator: .user("ana"), on: loop)
        loop.run()
        #expect(throws: HubError.streamQuotaReached) { try #require(completedResult(refused)).get() }

        // The hub is full; once idle, a2 (the longest idle) is dropped for a new stream, and Ana gets it back.
        now.withLockedValue { $0 += 120_000 }
        _ = try #require(publish("b1", as: .user("ben"))).get()
        #expect(allowance.held.withLockedValue { $0["ana"] } == 1)
        _ = try #require(publish("a3", as: .user("ana"))).get()
    }

    /// Past `streamRetentionMilliseconds` a stream without subscribers, activity or a
    /// scheduled sale is dropped on the sweep, whatever the stream count; the others stay.
    @Test func streamsPastTheirRetentionAreDroppedWithoutWaitingForTheLimit() throws {
        let loop = EmbeddedEventLoop()
        let start: Int64 = 1_732_660_000_000
        let now = NIOLockedValueBox<Int64>(start)
        let hub = Hub(
            loops: [loop], configuration: HubConfiguration(maxStreams: 100, streamRetentionMilliseconds: 60_000),
            clock: { now.withLockedValue { $0 } }
        )
        func publish(_ draft: EventDraft, to name: String) throws {
            let future = hub.publish(draft, to: stream(name))
            loop.run()
            _ = try #require(completedResult(future)).get()
        }
        func exists(_ name: String) throws -> Bool {
            let snapshot = hub.snapshot(of: stream(name))
            loop.run()
            return try #require(completedResult(snapshot)).get() != nil
        }
        func advance(_ milliseconds: Int64) {
            now.withLockedValue { $0 += milliseconds }
            loop.advanceTime(by: .milliseconds(milliseconds))
        }
        try publish(announcement("x"), to: "quiet")
        try publish(announcement("x"), to: "busy")
        try publish(announcement("x"), to: "watched")
        let subscription = hub.subscribe(stream("watched"), since: nil, creator: nil, on: loop)
        loop.run()
        _ = try #require(completedResult(subscription)).get()
        try publish(catalog([("a", 1_000)]), to: "scheduled")
        try publish(
            draft(.saleScheduled, ["sale": "s", "items": [["product": "a", "price": 800]], "starts_at": .int(start + 600_000), "duration_ms": 60_000]),
            to: "scheduled"
        )

        advance(50_000)
        try publish(announcement("y"), to: "busy")
        advance(20_000)
        // 70 s on: "quiet" is past its retention; "busy" had an event 20 s ago.
        #expect(try !exists("quiet"))
        #expect(try exists("busy"))
        #expect(try exists("watched"))
        #expect(try exists("scheduled"))

        advance(60_000)
        #expect(try !exists("busy"))
        #expect(try exists("watched"))
        // Its sale starts at 600 s and ends at 660 s; a minute after that it goes too.
        #expect(try exists("scheduled"))
        advance(540_000)
        #expect(try exists("scheduled"))
        advance(70_000)
        #expect(try !exists("scheduled"))
        #expect(try exists("watched"))
    }
}
