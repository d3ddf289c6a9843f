import NIOCore
import NIOEmbedded
import Testing

@testable import HawkerServer

/// The one outbound budget, in memory: EmbeddedChannel counts written and not yet
/// flushed bytes as buffered, and its writability is set by hand.
@Suite struct OutboundBudgetHandlerTests {
    /// Records the budget notices that reach the protocol layer.
    final class Notices: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var exceeded: [Int] = []

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let notice = event as? OutboundBudgetExceeded { exceeded.append(notice.limit) }
        }
    }

    private func makeChannel(limit: Int = 100, slack: Int = 10) throws -> (EmbeddedChannel, Notices) {
        let notices = Notices()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(OutboundBudgetHandler(limit: limit, slack: slack, grace: .seconds(1)))
        try channel.pipeline.syncOperations.addHandler(notices)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return (channel, notices)
    }

    private func write(_ channel: EmbeddedChannel, bytes: Int) -> EventLoopFuture<Void> {
        channel.write(ByteBuffer(repeating: 0x61, count: bytes))
    }

    private func isClosed(_ channel: EmbeddedChannel) -> Bool {
        channel.embeddedEventLoop.run()
        var closed = false
        channel.closeFuture.assumeIsolated().whenComplete { _ in closed = true }
        return closed
    }

    @Test func aWritableChannelIsNeverCounted() throws {
        let (channel, notices) = try makeChannel()
        for _ in 0..<5 { _ = write(channel, bytes: 100) }
        channel.embeddedEventLoop.run()
        #expect(notices.exceeded.isEmpty)
        #expect(!isClosed(channel))
        channel.flush()
        _ = try channel.finish()
    }

    @Test func pastTheBudgetTheProtocolIsToldOnceAndTheConnectionClosedAfterGrace() throws {
        let (channel, notices) = try makeChannel()
        channel.isWritable = false
        _ = write(channel, bytes: 60)
        _ = write(channel, bytes: 40)
        channel.embeddedEventLoop.run()
        #expect(notices.exceeded.isEmpty, "exactly at the budget is within it")

        _ = write(channel, bytes: 1)
        // Told after the write that crossed it returns, not inside it.
        #expect(notices.exceeded.isEmpty)
        channel.embeddedEventLoop.run()
        #expect(notices.exceeded == [100])

        // What was queued plus the slack may still go (a close frame)...
        var refused = 0
        write(channel, bytes: 10).assumeIsolated().whenFailure { _ in refused += 1 }
        channel.embeddedEventLoop.run()
        #expect(refused == 0)
        // ...then nothing more: the queue stops growing whatever is written.
        for _ in 0..<100 {
            write(channel, bytes: 1_000).assumeIsolated().whenFailure { _ in refused += 1 }
        }
        write(channel, bytes: 1).assumeIsolated().whenFailure { _ in refused += 1 }
        channel.embeddedEventLoop.run()
        #expect(refused == 101)
        #expect(channel.bufferedOutboundBytes == 111)
        #expect(notices.exceeded == [100], "told once")

        // (EmbeddedChannel completes queued writes' promises only when they are flushed.)
        channel.flush()
        #expect(!isClosed(channel))
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(isClosed(channel))
    }
}
