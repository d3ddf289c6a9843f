import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import HawkerWebSocket

@Suite("WebSocketConnectionHandler")
struct WebSocketConnectionHandlerTests {

    private static let configuration = WebSocketConnectionConfiguration(
        maxMessageBytes: 1_000,
        pingInterval: .seconds(10),
        idleTimeout: .seconds(30),
        idleCloseCode: 4003,
        closeTimeout: .seconds(5)
    )

    private func makeChannel(
        configuration: WebSocketConnectionConfiguration = Self.configuration,
        compression: PerMessageDeflateParameters? = nil
    ) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: WebSocketConnectionHandler(configuration: configuration, compression: compression))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    /// The next frame the handler wrote, parsed.
    private func nextFrame(_ channel: EmbeddedChannel) throws -> ParsedFrame? {
        guard let buffer = try channel.readOutbound(as: ByteBuffer.self) else { return nil }
        let frame = ParsedFrame(buffer)
        #expect(frame != nil, "not one whole frame: \(bytes(buffer))")
        return frame
    }

    /// Whether the channel has closed. EmbeddedChannel completes its close future in a
    /// task on its loop, so run the loop's ready tasks first.
    private func isClosed(_ channel: EmbeddedChannel) -> Bool {
        channel.embeddedEventLoop.run()
        var closed = false
        channel.closeFuture.assumeIsolated().whenComplete { _ in closed = true }
        return closed
    }

    // MARK: - Control frames

    @Test func pingIsAnsweredWithPongOfTheSamePayload() throws {
        let channel = try makeChannel()
        try channel.writeInbound(wire(clientFrame(.ping, [1, 2, 3, 4, 5])))
        let pong = try #require(try nextFrame(channel))
        #expect(pong.opcode == 0xA)
        #expect(pong.fin)
        #expect(pong.payload == [1, 2, 3, 4, 5])
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try channel.readInbound(as: WebSocketMessage.self) == nil)
        _ = try channel.finish()
    }

    /// Each ping costs a pong: past the control-frame rate the peer is failed with the
    /// flood code instead of answered (a peer that never reads would otherwise be owed
    /// pongs without end).
    @Test func pingsPastTheControlFrameRateCloseWithTheFloodCode() throws {
        var configuration = Self.configuration
        configuration.controlFramesPerSecond = 2
        configuration.controlFrameBurst = 3
        configuration.floodCloseCode = 4002
        let channel = try makeChannel(configuration: configuration)
        for _ in 0..<3 {
            try channel.writeInbound(wire(clientFrame(.ping, [1])))
            #expect(try nextFrame(channel)?.opcode == 0xA)
        }
        // A second later two more tokens; pongs count too.
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        try channel.writeInbound(wire(clientFrame(.pong, [2])))
        try channel.writeInbound(wire(clientFrame(.ping, [3])))
        #expect(try nextFrame(channel)?.payload == [3])
        try channel.writeInbound(wire(clientFrame(.ping, [4])))
        let close = try #require(try nextFrame(channel))
        #expect(close.opcode == 0x8)
        #expect(close.closeCode == 4002)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(isClosed(channel))
    }

    @Test func pongIsSwallowed() throws {
        let channel = try makeChannel()
        try channel.writeInbound(wire(clientFrame(.pong, [7])))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try channel.readInbound(as: WebSocketMessage.self) == nil)
        _ = try channel.finish()
    }

    @Test func peerCloseIsEchoedAndTheChannelClosed() throws {
        let channel = try makeChannel()
        try channel.writeInbound(wire(clientFrame(.connectionClose, closePayload(1000, Array("done".utf8)))))
        let close = try #require(try nextFrame(channel))
        #expect(close.opcode == 0x8)
        #expect(close.closeCode == 1000)
        #expect(isClosed(channel))
        #expect(!channel.isActive)
    }

    @Test func peerCloseWithoutCodeIsAnsweredWith1000() throws {
        let channel = try makeChannel()
        try channel.writeInbound(wire(clientFrame(.connectionClose, [])))
        #expect(try nextFrame(channel)?.closeCode == 1000)
        #expect(isClosed(channel))
    }

    // MARK: - Failures

    @Test func protocolErrorClosesWith1002() throws {
        let channel = try makeChannel()
        try channel.writeInbound(wire(clientFrame(.text, Array("hi".utf8), masked: false)))
        let close = try #require(try nextFrame(channel))
        #expect(close.opcode == 0x8)
        #expect(close.closeCode == 1002)
        #expect(isClosed(channel))
        #expect(try channel.readInbound(as: WebSocketMessage.self) == nil)
    }

    @Test func invalidUTF8ClosesWith1007() throws {
        let channel = try makeChannel()
        try channel.writeInbound(wire(clientFrame(.text, [0x61, 0xFF])))
        #expect(try nextFrame(channel)?.closeCode == 1007)
        #expect(isClosed(channel))
    }

    @Test func oversizedMessageClosesWith1009() throws {
        let channel = try makeChannel()
        try channel.writeInbound(wire(clientFrame(.binary, [UInt8](repeating: 0, count: 1_001))))
        #expect(try nextFrame(channel)?.closeCode == 1009)
        #expect(isClosed(channel))
    }

    @Test func aFrameHeaderLongerThanTheLimitClosesWith1009AtOnce() throws {
        let channel = try makeChannel()
        // A masked binary frame of 1,001 bytes: refused from its header, before its data.
        try channel.writeInbound(ByteBuffer(bytes: [0x82, 0xFE, 0x03, 0xE9]))
        #expect(try nextFrame(channel)?.closeCode == 1009)
        #expect(isClosed(channel))
    }

    @Test func aFragmentedControlFrameClosesWith1002() throws {
        let channel = try makeChannel()
        // A ping without FIN.
        try channel.writeInbound(ByteBuffer(bytes: [0x09, 0x80, 1, 2, 3, 4]))
        #expect(try nextFrame(channel)?.closeCode == 1002)
        #expect(isClosed(channel))
    }

    @Test func aControlFrameOver125BytesClosesWith1002() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: [0x89, 0xFE, 0x00, 0x7E]))
        #expect(try nextFrame(channel)?.closeCode == 1002)
        #expect(isClosed(channel))
    }

    @Test func framesSplitAnywhereAndSeveralInOneReadArriveWhole() throws {
        let channel = try makeChannel()
        var stream = wire(clientFrame(.text, "ab", fin: false))
        var rest = wire(clientFrame(.continuation, "cd"))
        stream.writeBuffer(&rest)
        var ping = wire(clientFrame(.ping, [9]))
        stream.writeBuffer(&ping)
        // A byte at a time: nothing until each frame is whole.
        while let byte = stream.readSlice(length: 1) { try channel.writeInbound(byte) }
        let message = try #require(try channel.readInbound(as: WebSocketMessage.self))
        #expect(String(buffer: message.data) == "abcd")
        #expect(try nextFrame(channel)?.opcode == 0xA, "the ping after them answered")
        // Two messages in one read.
        var two = wire(clientFrame(.text, "x"))
        var second = wire(clientFrame(.text, "y"))
        two.writeBuffer(&second)
        try channel.writeInbound(two)
        #expect(try channel.readInbound(as: WebSocketMessage.self).map { String(buffer: $0.data) } == "x")
        #expect(try channel.readInbound(as: WebSocketMessage.self).map { String(buffer: $0.data) } == "y")
    }

    // MARK: - Server-initiated close

    @Test func closeRequestSendsCloseAndWaitsForThePeer() throws {
        let channel = try makeChannel()
        try channel.triggerUserOutboundEvent(WebSocketCloseRequest(code: 1001, reason: "draining")).wait()
        let close = try #require(try nextFrame(channel))
        #expect(close.closeCode == 1001)
        #expect(close.closeReason == "draining")
        #expect(channel.isActive)

        // Data after our close frame is read and dropped; writes are refused.
        try channel.writeInbound(wire(clientFrame(.text, "late")))
        #expect(try channel.readInbound(as: WebSocketMessage.self) == nil)
        #expect(throws: ChannelError.outputClosed) { try channel.writeAndFlush(ByteBuffer(string: "x")).wait() }
        #expect(channel.isActive)

        try channel.writeInbound(wire(clientFrame(.connectionClose, closePayload(1001))))
        #expect(isClosed(channel))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)  // no second close frame
    }

    @Test func closeRequestTimesOutWithoutThePeersClose() throws {
        let channel = try makeChannel()
        try channel.triggerUserOutboundEvent(WebSocketCloseRequest(code: 4001, reason: "slow")).wait()
        #expect(try nextFrame(channel)?.closeCode == 4001)

        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(isClosed(channel))
    }

    @Test func secondCloseRequestIsIgnored() throws {
        let channel = try makeChannel()
        try channel.triggerUserOutboundEvent(WebSocketCloseRequest(code: 1001, reason: "")).wait()
        try channel.triggerUserOutboundEvent(WebSocketCloseRequest(code: 1000, reason: "")).wait()
        #expect(try nextFrame(channel)?.closeCode == 1001)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(isClosed(channel))
    }

    // MARK: - Keepalive

    /// A byte now and then of a frame that never ends is not traffic: the idle close
    /// still comes.
    @Test func partOfAFrameDoesNotKeepTheConnectionAlive() throws {
        let channel = try makeChannel()
        let frame = wire(clientFrame(.text, "never finished"))
        for second in 0..<30 {
            if second % 5 == 0, let byte = frame.getSlice(at: frame.readerIndex + second / 5, length: 1) { try channel.writeInbound(byte) }
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        }
        var codes: [UInt16?] = []
        while let next = try nextFrame(channel) { codes.append(next.opcode == 0x8 ? next.closeCode : nil) }
        #expect(codes.last == 4003, "idle after 30 s despite the bytes")
    }

    /// Reads that all end inside a frame (a stream of tiny frames cut one byte short):
    /// what is held stays one frame's start in a small buffer, however long it goes on.
    @Test func whatIsHeldForAFrameStaysSmall() throws {
        let handler = WebSocketConnectionHandler(configuration: Self.configuration, compression: nil)
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        var stream = ByteBuffer()
        for _ in 0..<2_000 {
            var frame = wire(clientFrame(.continuation, [], fin: false))
            stream.writeBuffer(&frame)
        }
        // The first frame opens a message the continuations go on with.
        var first = wire(clientFrame(.text, "a", fin: false))
        try channel.writeInbound(first.readSlice(length: first.readableBytes)!)
        var largest = 0
        while stream.readableBytes > 7 {
            try channel.writeInbound(stream.readSlice(length: 7)!)
            largest = max(largest, handler.held.capacity)
            #expect(handler.held.bytes < 6)
        }
        #expect(largest <= 1_024, "one small buffer, reused")
        #expect(channel.isActive)
    }

    /// A frame's handling that makes the connection read again (re-entrantly) gets those
    /// bytes after the ones it came in with.
    @Test func aReadFromWithinAFrameComesAfterTheRest() throws {
        final class Reenter: ChannelInboundHandler {
            typealias InboundIn = WebSocketMessage
            var seen: [String] = []
            let extra: ByteBuffer
            init(extra: ByteBuffer) { self.extra = extra }
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                let text = String(buffer: unwrapInboundIn(data).data)
                seen.append(text)
                if text == "1" { context.pipeline.fireChannelRead(extra) }
            }
        }
        let channel = try makeChannel()
        let reenter = Reenter(extra: wire(clientFrame(.text, "3")))
        try channel.pipeline.syncOperations.addHandler(reenter)
        var both = wire(clientFrame(.text, "1"))
        var second = wire(clientFrame(.text, "2"))
        both.writeBuffer(&second)
        try channel.writeInbound(both)
        #expect(reenter.seen == ["1", "2", "3"])
    }

    @Test func pingAfterSilenceThenIdleClose() throws {
        let channel = try makeChannel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)

        channel.embeddedEventLoop.advanceTime(by: .seconds(1))  // t = 10 s
        let ping = try #require(try nextFrame(channel))
        #expect(ping.opcode == 0x9)
        #expect(ping.payload.isEmpty)

        channel.embeddedEventLoop.advanceTime(by: .seconds(10))  // t = 20 s
        #expect(try nextFrame(channel)?.opcode == 0x9)

        channel.embeddedEventLoop.advanceTime(by: .seconds(10))  // t = 30 s: idle
        let close = try #require(try nextFrame(channel))
        #expect(close.opcode == 0x8)
        #expect(close.closeCode == 4003)
        #expect(channel.isActive)  // the close handshake runs

        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(isClosed(channel))
    }

    @Test func trafficKeepsTheConnectionQuiet() throws {
        let channel = try makeChannel()
        for _ in 0..<10 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(9))
            try channel.writeInbound(wire(clientFrame(.pong, [])))
        }
        // 90 s, never 10 s of silence: no ping, no close.
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func aPongResetsTheIdleClock() throws {
        let channel = try makeChannel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))  // pings at 10 and 20
        #expect(try nextFrame(channel)?.opcode == 0x9)
        #expect(try nextFrame(channel)?.opcode == 0x9)
        try channel.writeInbound(wire(clientFrame(.pong, [])))  // heard at t = 20
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))  // t = 40: silent for 20 s
        #expect(try nextFrame(channel)?.opcode == 0x9)  // tick at 30: 10 s silent
        #expect(try nextFrame(channel)?.opcode == 0x9)  // tick at 40: 20 s silent
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))  // t = 50: silent for 30 s
        #expect(try nextFrame(channel)?.closeCode == 4003)
    }

    // MARK: - Messages

    @Test func textMessageIsPassedOn() throws {
        let channel = try makeChannel()
        try channel.writeInbound(wire(clientFrame(.text, #"{"type":"ping","id":"k1"}"#)))
        let message = try #require(try channel.readInbound(as: WebSocketMessage.self))
        #expect(message.kind == .text)
        #expect(String(buffer: message.data) == #"{"type":"ping","id":"k1"}"#)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    @Test func fragmentedMessageIsPassedOnWhole() throws {
        let channel = try makeChannel()
        try channel.writeInbound(wire(clientFrame(.text, "ab", fin: false)))
        #expect(try channel.readInbound(as: WebSocketMessage.self) == nil)
        try channel.writeInbound(wire(clientFrame(.continuation, "cd")))
        #expect(String(buffer: try #require(try channel.readInbound(as: WebSocketMessage.self)).data) == "abcd")
        _ = try channel.finish()
    }

    @Test func compressedMessageIsInflated() throws {
        let channel = try makeChannel(compression: PerMessageDeflateParameters())
        let text = String(repeating: #"{"type":"ping","id":"k1"} "#, count: 20) + "é€😀"
        let compressed = try MessageDeflater().compress(ByteBuffer(string: text), windowBits: 15, allocator: channel.allocator)
        try channel.writeInbound(wire(clientFrame(.text, bytes(compressed), rsv1: true)))
        let message = try #require(try channel.readInbound(as: WebSocketMessage.self))
        #expect(message.kind == .text)
        #expect(String(buffer: message.data) == text)

        // A second message through the same inflater.
        let again = try MessageDeflater().compress(ByteBuffer(string: "again"), windowBits: 15, allocator: channel.allocator)
        try channel.writeInbound(wire(clientFrame(.text, bytes(again), rsv1: true)))
        #expect(String(buffer: try #require(try channel.readInbound(as: WebSocketMessage.self)).data) == "again")
        _ = try channel.finish()
    }

    @Test func compressedMessageInflatingPastTheLimitClosesWith1009() throws {
        let channel = try makeChannel(compression: PerMessageDeflateParameters())
        let compressed = try MessageDeflater().compress(ByteBuffer(repeating: UInt8(ascii: "a"), count: 5_000), windowBits: 15, allocator: channel.allocator)
        try channel.writeInbound(wire(clientFrame(.text, bytes(compressed), rsv1: true)))
        #expect(try nextFrame(channel)?.closeCode == 1009)
        #expect(isClosed(channel))
    }

    @Test func compressedInvalidUTF8ClosesWith1007() throws {
        let channel = try makeChannel(compression: PerMessageDeflateParameters())
        let compressed = try MessageDeflater().compress(ByteBuffer(bytes: [0x61, 0xED, 0xA0, 0x80]), windowBits: 15, allocator: channel.allocator)
        try channel.writeInbound(wire(clientFrame(.text, bytes(compressed), rsv1: true)))
        #expect(try nextFrame(channel)?.closeCode == 1007)
        #expect(isClosed(channel))
    }

    // MARK: - Direct writes (broadcasts)

    /// A channel whose handler writes broadcasts from the context of the first handler in
    /// the pipeline (as the gateway does from its budget handler's), with a counting handler
    /// between them that direct writes must skip.
    private func makeTappedChannel() throws -> (EmbeddedChannel, WebSocketConnectionHandler, WriteCounter) {
        let handler = WebSocketConnectionHandler(configuration: Self.configuration, compression: nil)
        let first = WriteCounter()
        let counter = WriteCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([first, counter, handler])
        handler.writeDirectly(from: try channel.pipeline.syncOperations.context(handler: first))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return (channel, handler, counter)
    }

    @Test func directWritesSkipTheHandlersBetweenAndKeepTheirOrderWithPipelineWrites() throws {
        let (channel, handler, counter) = try makeTappedChannel()
        let first = WebSocketFrameHeader.textFrame(ByteBuffer(string: "one"), allocator: channel.allocator)
        let second = WebSocketFrameHeader.textFrame(ByteBuffer(string: "two"), allocator: channel.allocator)
        let third = WebSocketFrameHeader.textFrame(ByteBuffer(string: "three"), allocator: channel.allocator)
        #expect(handler.writeDirect(first) == .startedBatch)
        channel.write(second, promise: nil)
        #expect(handler.writeDirect(third) == .written, "the batch waits for one flush")
        // Nothing leaves before the flush.
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        handler.flushDirect()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == first)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == second)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == third)
        #expect(counter.writes == 1)  // only the pipeline write passed it
        // A flush through the pipeline does not end the batch: the one that is due is
        // still asked for, so the next frame does not start another.
        #expect(handler.writeDirect(first) == .startedBatch)
        channel.flush()
        #expect(handler.writeDirect(second) == .written)
        handler.flushDirect()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == first)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == second)
        _ = try channel.finish()
    }

    /// Nothing may follow a close frame: once the close handshake started (the peer's
    /// close here, ours or a failure alike) direct writes are refused.
    @Test func directWritesStopAtTheCloseHandshake() throws {
        let (channel, handler, _) = try makeTappedChannel()
        try channel.triggerUserOutboundEvent(WebSocketCloseRequest(code: 1001, reason: "draining")).wait()
        #expect(try nextFrame(channel)?.opcode == 0x8)
        #expect(handler.writeDirect(WebSocketFrameHeader.textFrame(ByteBuffer(string: "late"), allocator: channel.allocator)) == .refused)
        handler.flushDirect()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)

        let (peerClosed, peerHandler, _) = try makeTappedChannel()
        try peerClosed.writeInbound(wire(clientFrame(.connectionClose, closePayload(1000))))
        #expect(try nextFrame(peerClosed)?.closeCode == 1000)
        #expect(peerHandler.writeDirect(WebSocketFrameHeader.textFrame(ByteBuffer(string: "late"), allocator: peerClosed.allocator)) == .refused)
    }

    @Test func outboundBuffersPassThrough() throws {
        let channel = try makeChannel()
        let frame = WebSocketFrameHeader.textFrame(ByteBuffer(string: "hello"), allocator: channel.allocator)
        try channel.writeAndFlush(frame).wait()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == frame)
        _ = try channel.finish()
    }
}

/// Counts the writes that pass it.
private final class WriteCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var writes = 0

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        writes += 1
        context.write(data, promise: promise)
    }
}
