import HawkerHub
import HawkerProtocol
import NIOConcurrencyHelpers
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
        let subscription = hub.subscribe(stream("watched"), since: nil, createIfMissing: false, on: loop)
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
}
