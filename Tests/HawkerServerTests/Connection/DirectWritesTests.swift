import HawkerHub
import HawkerProtocol
import NIOCore
import NIOEmbedded
import Testing

@testable import HawkerServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Broadcasts sent to the socket directly (`OutboundBudgetHandler+DirectWrites`): an
/// EmbeddedChannel stands for NIO's queue (written and not yet flushed bytes count as
/// held), a real socket pair for the connection's socket.
@Suite struct DirectWritesTests {
    /// The gateway's end and the peer's end of a connected stream socket pair; the peer's
    /// end does not block.
    private final class SocketPair {
        let gateway: CInt
        let peer: CInt

        init(sendBufferBytes: Int32? = nil) throws {
            var ends: [CInt] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0 else { throw IOError(errnoCode: errno, reason: "socketpair") }
            gateway = ends[0]
            peer = ends[1]
            _ = fcntl(gateway, F_SETFL, fcntl(gateway, F_GETFL) | O_NONBLOCK)
            _ = fcntl(peer, F_SETFL, fcntl(peer, F_GETFL) | O_NONBLOCK)
            if var size = sendBufferBytes {
                _ = setsockopt(gateway, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
        }

        deinit {
            close(gateway)
            close(peer)
        }

        /// Everything the peer can read now.
        func received() -> [UInt8] {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(peer, $0.baseAddress, $0.count) }
                guard count > 0 else { return bytes }
                bytes += chunk[0..<count]
            }
        }
    }

    private func makeChannel(socket: CInt?) throws -> (EmbeddedChannel, OutboundBudgetHandler) {
        let budget = OutboundBudgetHandler(limit: 1 << 20, grace: .seconds(1), socket: socket)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(budget)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return (channel, budget)
    }

    private func frame(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    /// What NIO let out, in order, as bytes.
    private func flushedByNIO(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
        return bytes
    }

    @Test func theOneFrameOfAFlushIsSentToTheSocketAtTheFlush() throws {
        let pair = try SocketPair()
        let (channel, budget) = try makeChannel(socket: pair.gateway)
        _ = budget.writeFrame(frame("one"))
        #expect(pair.received().isEmpty)
        budget.flush()
        #expect(pair.received() == Array("one".utf8))
        _ = budget.writeFrame(frame("two"))
        budget.flush()
        #expect(pair.received() == Array("two".utf8))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    /// A loop behind (several events in one turn): the frames of one flush leave together
    /// through NIO, in order, not a system call each.
    @Test func severalFramesOfOneFlushGoThroughNIOTogether() throws {
        let pair = try SocketPair()
        let (channel, budget) = try makeChannel(socket: pair.gateway)
        _ = budget.writeFrame(frame("one"))
        _ = budget.writeFrame(frame("two"))
        _ = budget.writeFrame(frame("three"))
        budget.flush()
        #expect(pair.received().isEmpty)
        #expect(try flushedByNIO(channel) == Array("onetwothree".utf8))
        // NIO's queue is empty again (seen once, then not read again): direct.
        _ = budget.writeFrame(frame("four"))
        budget.flush()
        #expect(pair.received() == Array("four".utf8))
        _ = try channel.finish()
    }

    @Test func aWriteWaitingInNIOKeepsLaterFramesBehindIt() throws {
        let pair = try SocketPair()
        let (channel, budget) = try makeChannel(socket: pair.gateway)
        // A reply written through the pipeline and not flushed yet: NIO holds it.
        channel.write(frame("reply"), promise: nil)
        _ = budget.writeFrame(frame("event"))
        budget.flush()
        #expect(pair.received().isEmpty)
        #expect(try flushedByNIO(channel) == Array("replyevent".utf8))
        _ = try channel.finish()
    }

    /// A reply written after a frame that waits for the flush goes after it.
    @Test func aPipelineWriteTakesTheWaitingFrameAheadOfItself() throws {
        let pair = try SocketPair()
        let (channel, budget) = try makeChannel(socket: pair.gateway)
        _ = budget.writeFrame(frame("event"))
        channel.write(frame("reply"), promise: nil)
        budget.flush()
        #expect(pair.received().isEmpty)
        #expect(try flushedByNIO(channel) == Array("eventreply".utf8))
        _ = try channel.finish()
    }

    /// A flush through the pipeline (a session's own) sends the waiting frame too.
    @Test func aPipelineFlushSendsTheWaitingFrame() throws {
        let pair = try SocketPair()
        let (channel, budget) = try makeChannel(socket: pair.gateway)
        _ = budget.writeFrame(frame("event"))
        channel.flush()
        #expect(pair.received() == Array("event".utf8))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    /// A peer that does not read: what its socket buffer does not take (the rest of a
    /// partial send, then whole frames) waits in NIO's queue behind what the kernel took,
    /// in order.
    @Test func whatTheKernelDoesNotTakeWaitsInNIOInOrder() throws {
        let pair = try SocketPair(sendBufferBytes: 4_096)
        let (channel, budget) = try makeChannel(socket: pair.gateway)
        var expected: [UInt8] = []
        for index in 0..<20 {
            let text = String(repeating: Character(UnicodeScalar(UInt8(97 + index % 26))), count: 9_973)
            expected += Array(text.utf8)
            _ = budget.writeFrame(frame(text))
            // One frame per flush, each tried directly while NIO holds nothing.
            budget.flush()
        }
        let direct = pair.received()
        #expect(!direct.isEmpty)
        #expect(direct.count < expected.count)
        #expect(direct + (try flushedByNIO(channel)) == expected)
        _ = try channel.finish()
    }

    /// Once NIO closed the channel its descriptor may belong to another connection:
    /// nothing is sent to it.
    @Test func aClosedChannelIsNotWrittenTo() throws {
        let pair = try SocketPair()
        let (channel, budget) = try makeChannel(socket: pair.gateway)
        _ = budget.writeFrame(frame("waiting"))
        try channel.close().wait()
        // The handlers are still there (EmbeddedChannel removes them when its loop runs):
        // only the channel's end (its state, or channelInactive for the hub's flush)
        // keeps the frame from the socket.
        budget.flush()
        budget.flushBroadcasts()
        #expect(pair.received().isEmpty)
    }

    /// NIO closes the descriptor, then runs the close's callbacks, then tells the pipeline:
    /// a flush from such a callback, through the pipeline or the WebSocket layer's
    /// `flushDirect`, must not send to the descriptor.
    @Test(arguments: [true, false]) func aFlushFromACallbackOfTheCloseSendsNothing(throughThePipeline: Bool) throws {
        let pair = try SocketPair()
        let (channel, budget) = try makeChannel(socket: pair.gateway)
        _ = budget.writeFrame(frame("waiting"))
        let closed = channel.eventLoop.makePromise(of: Void.self)
        var flushedBeforeInactive = false
        closed.futureResult.assumeIsolated().whenComplete { _ in
            flushedBeforeInactive = !budget.channelClosed
            if throughThePipeline { channel.flush() } else { budget.flush() }
        }
        channel.close(promise: closed)
        #expect(flushedBeforeInactive, "the callback ran before channelInactive")
        #expect(pair.received().isEmpty)
        #expect(budget.channelClosed)
    }

    /// The writer asks for one flush per batch: a frame after the batch's first does not,
    /// nor after a flush through the pipeline (the flush asked for is still to come), and
    /// the first frame after that flush does again.
    @Test func oneFlushIsAskedForPerBatch() throws {
        let pair = try SocketPair()
        let (channel, budget) = try makeChannel(socket: pair.gateway)
        #expect(budget.writeFrame(frame("one")))
        #expect(!budget.writeFrame(frame("two")))
        channel.flush()
        #expect(!budget.writeFrame(frame("three")))
        budget.flushBroadcasts()
        // Two frames in one batch went through NIO; the pipeline's flush let them out.
        #expect(try flushedByNIO(channel) == Array("onetwo".utf8))
        #expect(pair.received() == Array("three".utf8))
        #expect(budget.writeFrame(frame("four")))
        budget.flushBroadcasts()
        #expect(pair.received() == Array("four".utf8))
        _ = try channel.finish()
    }

    /// `nioQueueIsEmpty` (which lets a delivery skip the channel's state) holds only while
    /// nothing went through NIO since its queue was last seen empty.
    @Test func theQueueIsKnownEmptyOnlyWhileNothingWentThroughNIO() throws {
        let pair = try SocketPair(sendBufferBytes: 4_096)
        let (channel, budget) = try makeChannel(socket: pair.gateway)
        #expect(!budget.nioQueueIsEmpty, "not known before it was looked at")
        _ = budget.writeFrame(frame("one"))
        budget.flush()
        #expect(budget.nioQueueIsEmpty)
        channel.write(frame("reply"), promise: nil)
        #expect(!budget.nioQueueIsEmpty)
        channel.flush()
        #expect(try flushedByNIO(channel) == Array("reply".utf8))
        // Seen empty again at the next broadcast.
        _ = budget.writeFrame(frame("two"))
        #expect(budget.nioQueueIsEmpty)
        budget.flush()
        // The kernel takes part of a large frame: the rest waits in NIO.
        _ = budget.writeFrame(frame(String(repeating: "x", count: 200_000)))
        budget.flush()
        #expect(!budget.nioQueueIsEmpty)
        _ = try channel.finish()
        let (_, withoutSocket) = try makeChannel(socket: nil)
        _ = withoutSocket.writeFrame(frame("one"))
        withoutSocket.flush()
        #expect(!withoutSocket.nioQueueIsEmpty, "over TLS NIO's queue is always asked")
    }

    /// Without a socket (TLS, where frames must be encrypted), frames go through NIO and
    /// leave with the flush.
    @Test func withoutASocketFramesWaitForTheFlush() throws {
        let (channel, budget) = try makeChannel(socket: nil)
        _ = budget.writeFrame(frame("one"))
        _ = budget.writeFrame(frame("two"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        budget.flush()
        #expect(try flushedByNIO(channel) == Array("onetwo".utf8))
        _ = try channel.finish()
    }

    /// A session as the budget handler sees it: what it is handed.
    private final class HandedOver: StreamSubscriber {
        private(set) var frames: [String] = []

        func receive(_ frame: BroadcastFrame, from stream: StreamID) -> (any BroadcastFlusher)? {
            frames.append(String(buffer: frame.plain))
            return nil
        }
    }

    private func broadcast(_ text: String) -> BroadcastFrame {
        BroadcastFrame(seq: 1, plain: ByteBuffer(string: text), deflated: ByteBuffer(string: "z" + text), coalescingKey: nil, itemCount: 1)
    }

    /// The hub delivers to the budget handler: it writes a broadcast itself only while the
    /// session would write it as it is and NIO holds nothing; anything else is the
    /// session's to decide.
    @Test func broadcastsPassTheSessionOnlyWhileItWouldWriteThemAsTheyAre() throws {
        let pair = try SocketPair()
        let (channel, budget) = try makeChannel(socket: pair.gateway)
        let session = HandedOver()
        budget.session = session
        let shop = StreamID("shop")!

        #expect(budget.receive(broadcast("backed-up"), from: shop) == nil, "the session does not write it as it is")
        budget.sessionWritesBroadcasts = true
        #expect(budget.receive(broadcast("unknown-queue"), from: shop) == nil, "NIO's queue not seen empty yet")
        #expect(session.frames == ["backed-up", "unknown-queue"])

        // The session's own write saw NIO's queue empty: from now on the handler writes.
        _ = budget.writeFrame(frame("seen "))
        budget.flush()
        let flusher = budget.receive(broadcast("straight"), from: shop)
        #expect(flusher === budget)
        flusher?.flushBroadcasts()
        #expect(pair.received() == Array("seen straight".utf8))
        // Two frames before the flush go through NIO (one writev), with one flush asked.
        #expect(budget.receive(broadcast("one"), from: shop) === budget)
        #expect(budget.receive(broadcast(" two"), from: shop) == nil)
        budget.flushBroadcasts()
        #expect(try flushedByNIO(channel) == Array("one two".utf8))
        #expect(session.frames.count == 2)
        _ = budget.writeFrame(frame("seen empty"))
        budget.flush()
        #expect(pair.received() == Array("seen empty".utf8))

        budget.deflatedBroadcasts = true
        budget.receive(broadcast("!"), from: shop)?.flushBroadcasts()
        #expect(pair.received() == Array("z!".utf8), "the compressed frame when the session sends those")

        // A reply through the pipeline: NIO may hold bytes, the session decides.
        channel.write(frame("reply"), promise: nil)
        #expect(budget.receive(broadcast("after-reply"), from: shop) == nil)
        channel.flush()
        _ = budget.writeFrame(frame("seen again"))
        budget.flush()
        #expect(pair.received() == Array("seen again".utf8))

        // The WebSocket layer's close handshake started.
        budget.directWritesEnded()
        #expect(budget.receive(broadcast("closing"), from: shop) == nil)
        #expect(session.frames == ["backed-up", "unknown-queue", "after-reply", "closing"])

        try channel.close().wait()
        #expect(!budget.sessionWritesBroadcasts, "a closed channel takes nothing")
        #expect(pair.received().isEmpty)
    }
}
