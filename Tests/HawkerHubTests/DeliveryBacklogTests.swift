import HawkerHub
import HawkerProtocol
import NIOCore
import Testing

/// What a backed-up viewer is owed: the latest frame per state key, chat counted not kept.
@Suite struct DeliveryBacklogTests {
    private func frame(_ seq: UInt64, key: String?, items: Int = 1) -> BroadcastFrame {
        BroadcastFrame(seq: seq, plain: ByteBuffer(string: "frame \(seq)"), deflated: nil, coalescingKey: key, itemCount: items, sequencedAt: .uptimeNanoseconds(0))
    }

    @Test func aStuckViewerKeepsOnlyTheLatestStatePerKeyInOrder() {
        var backlog = DeliveryBacklog()
        let shop = StreamID("shop")!
        let other = StreamID("other")!
        #expect(backlog.hold(frame(1, key: "price:a"), from: shop) == .kept)
        #expect(backlog.hold(frame(2, key: "stock:a"), from: shop) == .kept)
        #expect(backlog.hold(frame(0, key: nil, items: 7), from: shop) == .dropped)
        #expect(backlog.hold(frame(3, key: "price:a"), from: shop) == .replaced)
        #expect(backlog.hold(frame(1, key: "price:a"), from: other) == .kept)  // same key, another stream
        #expect(backlog.hold(frame(0, key: "presence"), from: shop) == .kept)
        #expect(backlog.hold(frame(4, key: "stock:a"), from: shop) == .replaced)
        #expect(backlog.hold(frame(0, key: nil, items: 3), from: shop) == .dropped)
        #expect(backlog.bytes == 4 * "frame 1".utf8.count)

        let (gaps, frames) = backlog.drain()
        #expect(frames.map { "\($0.stream):\($0.frame.seq)" } == ["shop:3", "other:1", "shop:0", "shop:4"])  // arrival order of the kept frames
        #expect(gaps.count == 1)
        #expect(gaps.first?.stream == shop)
        #expect(gaps.first?.coalesced == 2)
        #expect(gaps.first?.chatBatchesMissed == 2)
        #expect(gaps.first?.chatMessagesMissed == 10)
        #expect(backlog.isEmpty)
        #expect(backlog.bytes == 0)
    }

    @Test func nothingLostMeansNoGap() {
        var backlog = DeliveryBacklog()
        backlog.hold(frame(1, key: "price:a"), from: StreamID("s")!)
        let (gaps, frames) = backlog.drain()
        #expect(gaps.isEmpty)
        #expect(frames.count == 1)
    }
}
