import HawkerHub
import HawkerProtocol
import NIOCore
import NIOPosix
import Testing

/// The hub on real event loops: a stream's home is one loop, subscribers live on both,
/// and every hop is an `execute` on another thread. No sleeps: every check awaits a
/// future that is ordered after the deliveries on the subscriber's loop.
@Suite("Hub (two real event loops)")
struct HubMultiLoopTests {

    /// Subscribes on `loop` and activates in the same tick the outcome arrives, as a
    /// session does.
    private func subscribe(_ hub: Hub, _ subscriber: RecordingSubscriber, to stream: StreamID) async throws -> SubscribeOutcome {
        let loop = subscriber.eventLoop
        return try await hub.subscribe(stream, since: nil, creator: .gateway, on: loop).map { outcome in
            loop.preconditionInEventLoop()
            hub.activate(subscriber, on: stream, staff: false, eventLoop: loop)
            return outcome
        }.get()
    }

    /// What `subscriber` has received, read on its own loop.
    private func seqs(of subscriber: RecordingSubscriber) async throws -> [UInt64] {
        try await subscriber.eventLoop.submit { subscriber.seqs }.get()
    }

    @Test func subscribersOnBothLoopsReceiveEveryEventInOrder() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        #expect(loops.count == 2)
        let hub = Hub(loops: loops, clock: { 1_000 })
        let show = StreamID("multi-loop-show")!

        let subscribers = loops.flatMap { loop in (0..<2).map { _ in RecordingSubscriber(eventLoop: loop) } }
        for subscriber in subscribers {
            let outcome = try await subscribe(hub, subscriber, to: show)
            #expect(outcome.position.seq == 0)
        }

        // Publish from the test's thread, without waiting in between.
        let count = 200
        let futures = (1...count).map { hub.publish(announcement("n\($0)"), to: show) }
        var receipts: [PublishReceipt] = []
        for future in futures { receipts.append(try await future.get()) }
        #expect(Set(receipts.map(\.position.seq)).count == count)
        #expect(receipts.allSatisfy { $0.position.epoch == receipts[0].position.epoch })

        // Each publish handed its frame to both loops before its future completed, so a
        // task submitted to a loop now runs after every delivery to that loop.
        for subscriber in subscribers {
            let received = try await seqs(of: subscriber)
            #expect(received == Array(1...UInt64(count)))
        }

        // The frames themselves are the same buffers on both loops (framed once).
        let firstOnEach = try await loops.asyncMap { loop in
            try await loop.submit { subscribers.first { $0.eventLoop === loop }!.frames[0].plain }.get()
        }
        #expect(firstOnEach[0] == firstOnEach[1])

        try await group.shutdownGracefully()
    }

    @Test func publishesFromBothLoopsAreSequencedOnce() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let hub = Hub(loops: loops, clock: { 1_000 })
        let show = StreamID("two-publishers")!

        let watcher = RecordingSubscriber(eventLoop: loops[0])
        _ = try await subscribe(hub, watcher, to: show)

        // Two publishers, one per loop, interleaving freely.
        let perLoop = 100
        let batches = try await loops.asyncMap { loop in
            try await loop.flatSubmit {
                EventLoopFuture.whenAllSucceed((0..<perLoop).map { hub.publish(announcement("n\($0)"), to: show) }, on: loop)
            }.get()
        }
        let seqs = batches.flatMap { $0.map(\.position.seq) }
        #expect(Set(seqs) == Set(1...UInt64(2 * perLoop)))
        #expect(try await self.seqs(of: watcher) == Array(1...UInt64(2 * perLoop)))

        try await group.shutdownGracefully()
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
