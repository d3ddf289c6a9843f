import HawkerHub
import HawkerProtocol
import NIOCore
import Testing

@testable import HawkerServer

/// The slow-consumer policy on a fake clock: writes while the socket takes them, the latest state per key while backed up, a gap and the held frames
/// once drained, and 4001 for a viewer stuck past the timeout or owed past the budget.
@Suite struct ViewerDeliveryTests {
    private let shop = StreamID("shop")!
    private let policy = ViewerDelivery.Policy(stuckTimeout: .milliseconds(300), budgetBytes: 10_000)
    private let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    private func frame(_ seq: UInt64, key: String?, bytes: Int = 100, items: Int = 1) -> BroadcastFrame {
        BroadcastFrame(seq: seq, plain: ByteBuffer(repeating: 0x61, count: bytes), deflated: nil, coalescingKey: key, itemCount: items)
    }

    @Test func aWritableViewerGetsEveryFrame() {
        var delivery = ViewerDelivery(policy: policy)
        #expect(delivery.receive(frame(1, key: "a"), from: shop, writable: true, queuedBytes: 0, now: start) == .write)
        #expect(delivery.receive(frame(2, key: "a"), from: shop, writable: true, queuedBytes: 100, now: start) == .write)
        #expect(delivery.receive(frame(3, key: "a"), from: shop, writable: true, queuedBytes: 0, now: start) == .write)
        #expect(!delivery.isBackedUp)
        #expect(delivery.drained() == nil)
    }

    @Test func aBackedUpViewerKeepsTheLatestStatePerKeyAndCatchesUpWithAGap() throws {
        var delivery = ViewerDelivery(policy: policy)
        #expect(delivery.receive(frame(1, key: "price:a"), from: shop, writable: false, queuedBytes: 5_000, now: start) == .held(.kept, backedUpNow: true))
        #expect(delivery.stuckDeadline == start + .milliseconds(300))
        #expect(delivery.receive(frame(2, key: "stock:a"), from: shop, writable: false, queuedBytes: 5_000, now: start) == .held(.kept, backedUpNow: false))
        #expect(delivery.receive(frame(3, key: "price:a"), from: shop, writable: false, queuedBytes: 5_000, now: start) == .held(.replaced, backedUpNow: false))
        #expect(delivery.receive(frame(0, key: nil, items: 7), from: shop, writable: false, queuedBytes: 5_000, now: start) == .held(.dropped, backedUpNow: false))
        // Writable again, but still backed up until it drained: nothing overtakes the backlog.
        #expect(delivery.receive(frame(4, key: "pinned"), from: shop, writable: true, queuedBytes: 0, now: start) == .held(.kept, backedUpNow: false))

        let drained = delivery.drained()
        let caughtUp = try #require(drained)
        let gap = try #require(caughtUp.gaps.first)
        #expect(caughtUp.gaps.count == 1)
        #expect([gap.coalesced, gap.chatBatchesMissed, gap.chatMessagesMissed] == [1, 1, 7])
        #expect(gap.stream == shop)
        #expect(caughtUp.frames.map(\.frame.seq) == [2, 3, 4])
        #expect(!delivery.isBackedUp)
        #expect(delivery.stuckDeadline == nil)
        // The timer of that episode fires later: nothing to give up on.
        #expect(delivery.stuck(now: start + .seconds(1)) == nil)
        #expect(delivery.receive(frame(5, key: "a"), from: shop, writable: true, queuedBytes: 0, now: start + .seconds(1)) == .write)
    }

    @Test func aViewerStuckPastTheTimeoutIsGivenUpOn() {
        var delivery = ViewerDelivery(policy: policy)
        _ = delivery.receive(frame(1, key: "a"), from: shop, writable: false, queuedBytes: 5_000, now: start)
        #expect(delivery.stuck(now: start + .milliseconds(299)) == nil)
        #expect(delivery.isBackedUp)
        #expect(delivery.stuck(now: start + .milliseconds(300)) == "stuck for 300 ms")
        #expect(!delivery.isBackedUp)
    }

    /// A viewer that drained and backed up again is timed from the second time.
    @Test func theTimeoutCountsFromTheLatestBackUp() {
        var delivery = ViewerDelivery(policy: policy)
        _ = delivery.receive(frame(1, key: "a"), from: shop, writable: false, queuedBytes: 5_000, now: start)
        #expect(delivery.drained() != nil)
        let later = start + .milliseconds(250)
        #expect(delivery.receive(frame(2, key: "a"), from: shop, writable: false, queuedBytes: 5_000, now: later) == .held(.kept, backedUpNow: true))
        // The first episode's timer: not yet 300 ms since the second.
        #expect(delivery.stuck(now: start + .milliseconds(300)) == nil)
        #expect(delivery.stuck(now: later + .milliseconds(300)) == "stuck for 300 ms")
    }

    @Test func aViewerOwedMoreThanTheBudgetIsGivenUpOn() {
        // Over the budget with its first held frame: given up on, and counted as backed up.
        var first = ViewerDelivery(policy: policy)
        #expect(
            first.receive(frame(1, key: "a", bytes: 3_000), from: shop, writable: false, queuedBytes: 8_000, now: start)
                == .giveUp(reason: "owed more than 10000 bytes", held: .kept, backedUpNow: true))

        var delivery = ViewerDelivery(policy: policy)
        #expect(delivery.receive(frame(1, key: "a", bytes: 1_000), from: shop, writable: false, queuedBytes: 8_000, now: start) == .held(.kept, backedUpNow: true))
        // Socket queue and backlog together: 8,000 + 1,000 + 1,500 > 10,000.
        #expect(
            delivery.receive(frame(2, key: "b", bytes: 1_500), from: shop, writable: false, queuedBytes: 8_000, now: start)
                == .giveUp(reason: "owed more than 10000 bytes", held: .kept, backedUpNow: false))
        #expect(!delivery.isBackedUp)
        // Replacing a frame by one of the same size costs nothing more.
        var steady = ViewerDelivery(policy: policy)
        for seq in 1...100 {
            guard case .held = steady.receive(frame(UInt64(seq), key: "a", bytes: 1_000), from: shop, writable: false, queuedBytes: 8_000, now: start) else {
                Issue.record("frame \(seq) was not held")
                return
            }
        }
    }
}
