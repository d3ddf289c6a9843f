import NIOCore
import NIOWebSocket

/// The strict RFC 6455 layer between the socket's bytes and the application.
///
/// Inbound it reads frames off the bytes (`WebSocketFrameParser`) and turns them into
/// complete, validated messages (`WebSocketMessage`);
/// it answers pings, keeps the connection alive, runs the close handshake and fails
/// the connection with the right close code on bad input. Outbound it passes on
/// ready-made frames (`ByteBuffer`s, so one broadcast frame can go to many channels).
public final class WebSocketConnectionHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = WebSocketMessage
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum State {
        case open
        /// We sent a close frame and wait for the peer's.
        case closeSent
        /// The close handshake is over (or the connection failed); only teardown remains.
        case closed
    }

    private let configuration: WebSocketConnectionConfiguration
    private let compression: PerMessageDeflateParameters?
    private let parser: WebSocketFrameParser
    /// The start of a frame whose end has not arrived: nil on an idle connection.
    private var pending: ByteBuffer?
    /// In `channelRead`, which may be re-entered from a frame's handling.
    private var reading = false
    private var assembler: WebSocketMessageAssembler
    /// Pings and pongs from the peer: each ping is answered, so an unbounded rate would be
    /// unbounded work and, for a peer that does not read, unbounded output.
    private var controlFrames: TokenBucket
    private var inflater: MessageInflater?
    private var state = State.open {
        didSet {
            // Nothing may follow a close frame: the writer stops taking broadcasts.
            if oldValue == .open, state != .open { direct?.directWritesEnded() }
        }
    }
    /// On the event loop's clock (`eventLoop.now`), which is the one its timers run on.
    private var lastInbound = NIODeadline.uptimeNanoseconds(0)
    private var keepalive: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    /// Where `writeDirect` writes.
    private var direct: (any DirectFrameWriter)?

    public init(configuration: WebSocketConnectionConfiguration, compression: PerMessageDeflateParameters?) {
        self.configuration = configuration
        self.compression = compression
        // NIO's decoder took frames up to 2^32 - 1 bytes at most.
        self.parser = WebSocketFrameParser(maxFrameSize: min(configuration.maxMessageBytes, Int(UInt32.max)))
        self.assembler = WebSocketMessageAssembler(maxMessageBytes: configuration.maxMessageBytes, compressionNegotiated: compression != nil)
        self.controlFrames = TokenBucket(ratePerSecond: configuration.controlFramesPerSecond, burst: configuration.controlFrameBurst)
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        lastInbound = context.eventLoop.now
        scheduleKeepalive(context: context)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        direct = nil
    }

    /// `writeDirect` writes through `writer`, which sits on the socket's side of this
    /// handler.
    public func writeDirectly(through writer: any DirectFrameWriter) {
        direct = writer
    }

    /// `writeDirect` writes from `context`: the context of a handler on the socket's side
    /// of this one, whose writes pass nothing but what every byte must (TLS). Its own
    /// handler does not see them.
    public func writeDirectly(from context: ChannelHandlerContext) {
        direct = ContextFrameWriter(context: context)
    }

    /// Writes a ready-made data frame from the socket's side of the pipeline (the writer
    /// set with `writeDirectly`), skipping the handlers in between: the fan-out's
    /// path, once per viewer per event. Writes and flushes through the pipeline go in the
    /// same order as these, since no handler holds writes back. Nothing is written once
    /// the close handshake started (nothing may follow a close frame) or without a writer.
    public func writeDirect(_ frame: ByteBuffer) -> DirectWrite {
        guard state == .open, let direct else { return .refused }
        return direct.writeFrame(frame) ? .startedBatch : .written
    }

    /// Flushes what `writeDirect` wrote (and anything else the channel holds).
    public func flushDirect() {
        direct?.flush()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        pending = nil
        cancelTimers()
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard state != .closed else { return }
        var bytes = unwrapInboundIn(data)
        // Re-entered from a frame's handling (something fired a read): the bytes queue
        // behind the ones being read, which the outer call takes on before it returns.
        guard !reading else {
            hold(&bytes, context: context)
            return
        }
        reading = true
        defer { reading = false }
        // Whether `bytes` is our own buffer (`hold`'s), or NIO's read buffer.
        var ours = false
        if var held = pending {
            // Ours alone: appended to in place.
            pending = nil
            held.writeBuffer(&bytes)
            bytes = held
            ours = true
        }
        while true {
            // Frame by frame; a frame may close the connection (or the handler after it may).
            while state != .closed {
                let frame: WebSocketClientFrame?
                do {
                    frame = try parser.next(&bytes)
                } catch .tooLarge {
                    return fail(code: 1009, reason: "frame larger than \(configuration.maxMessageBytes) bytes", context: context)
                } catch {
                    return fail(code: 1002, reason: "invalid control frame", context: context)
                }
                guard let frame else { break }
                // A whole frame is traffic; a byte now and then of one that never ends is not.
                lastInbound = context.eventLoop.now
                receive(frame, context: context)
            }
            guard state != .closed else {
                pending = nil
                return
            }
            guard var more = pending else { break }
            pending = nil
            bytes.writeBuffer(&more)
            ours = true
        }
        guard bytes.readableBytes > 0 else { return }
        if ours {
            // Without what was read: the buffer holds one frame's start at most.
            bytes.discardReadBytes()
            pending = bytes
        } else {
            hold(&bytes, context: context)
        }
    }

    /// Keeps the start of a frame whose end has not arrived, in a buffer of our own sized
    /// to it: not as a slice of NIO's read buffer, which its allocator could then not use
    /// for the next read, and without the bytes already read. Reads that keep ending
    /// mid-frame append to it in place.
    private func hold(_ bytes: inout ByteBuffer, context: ChannelHandlerContext) {
        guard bytes.readableBytes > 0 else { return }
        if var held = pending {
            pending = nil
            held.writeBuffer(&bytes)
            pending = held
            return
        }
        var held = context.channel.allocator.buffer(capacity: max(bytes.readableBytes, 1_024))
        held.writeBuffer(&bytes)
        pending = held
    }

    /// The bytes held for a frame not yet whole, and the room kept for them (for tests).
    var held: (bytes: Int, capacity: Int) { (pending?.readableBytes ?? 0, pending?.capacity ?? 0) }

    private func receive(_ frame: WebSocketClientFrame, context: ChannelHandlerContext) {
        let received = assembler.receive(frame)
        switch received {
        case .ping, .pong:
            guard controlFrames.take(now: lastInbound) else {
                return fail(
                    code: configuration.floodCloseCode,
                    reason: "more than \(configuration.controlFramesPerSecond) pings and pongs per second",
                    context: context
                )
            }
        default:
            break
        }
        switch received {
        case .needMoreFrames, .pong:
            break
        case .message(let kind, let payload, let compressed):
            // After our close frame, data is read and dropped (RFC 6455 §5.5.1).
            guard state == .open else { return }
            deliver(kind: kind, payload: payload, compressed: compressed, context: context)
        case .ping(let payload):
            guard state == .open else { return }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrameHeader.frame(opcode: .pong, payload: payload, allocator: context.channel.allocator)), promise: nil)
        case .close(let payload):
            receivedClose(payload, context: context)
        case .fail(let code, let reason):
            fail(code: code, reason: reason, context: context)
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard state == .open else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        context.write(data, promise: promise)
    }

    public func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let request = event as? WebSocketCloseRequest else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        startClose(code: request.code, reason: request.reason, context: context)
        promise?.succeed()
    }

    /// I/O errors: nothing left to say to the peer.
    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        state = .closed
        pending = nil
        context.close(promise: nil)
    }

    // MARK: - Messages

    private func deliver(kind: WebSocketMessage.Kind, payload: ByteBuffer, compressed: Bool, context: ChannelHandlerContext) {
        var payload = payload
        if compressed {
            do {
                if inflater == nil {
                    inflater = try MessageInflater(clientNoContextTakeover: compression?.clientNoContextTakeover ?? false)
                }
                payload = try inflater!.inflate(payload, maxBytes: configuration.maxMessageBytes, allocator: context.channel.allocator)
            } catch MessageInflater.Failure.tooLarge {
                return fail(code: 1009, reason: "message larger than \(configuration.maxMessageBytes) bytes", context: context)
            } catch {
                return fail(code: 1007, reason: "compressed message could not be inflated", context: context)
            }
            if kind == .text {
                var validator = UTF8Validator()
                let valid = payload.withUnsafeReadableBytes { validator.feed($0) } && validator.isComplete
                guard valid else { return fail(code: 1007, reason: "text is not valid UTF-8", context: context) }
            }
        }
        context.fireChannelRead(wrapInboundOut(WebSocketMessage(kind: kind, data: payload)))
    }

    // MARK: - Closing

    private func receivedClose(_ payload: WebSocketClosePayload, context: ChannelHandlerContext) {
        switch state {
        case .open:
            // Echo the peer's code, then the server drops the TCP connection first (§7.1.1).
            state = .closed
            let frame = WebSocketFrameHeader.closeFrame(code: payload.code ?? 1000, reason: "", allocator: context.channel.allocator)
            context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        case .closeSent:
            state = .closed
            context.close(promise: nil)
        case .closed:
            break
        }
    }

    /// Starts the close handshake: our close frame now, the TCP close when the peer
    /// answers or `closeTimeout` passes.
    private func startClose(code: UInt16, reason: String, context: ChannelHandlerContext) {
        guard state == .open else { return }
        state = .closeSent
        let frame = WebSocketFrameHeader.closeFrame(code: code, reason: reason, allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: configuration.closeTimeout) {
            context.close(promise: nil)
        }
    }

    /// Fails the connection: a close frame with `code`, then the TCP close without
    /// waiting for the peer.
    private func fail(code: UInt16, reason: String, context: ChannelHandlerContext) {
        let wasOpen = state == .open
        state = .closed
        guard wasOpen else {
            context.close(promise: nil)
            return
        }
        let frame = WebSocketFrameHeader.closeFrame(code: code, reason: reason, allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    // MARK: - Keepalive

    private func scheduleKeepalive(context: ChannelHandlerContext) {
        keepalive = context.eventLoop.assumeIsolated().scheduleTask(in: configuration.pingInterval) { [self] in
            self.keepaliveTick(context: context)
        }
    }

    private func keepaliveTick(context: ChannelHandlerContext) {
        guard state == .open else { return }
        let silence = context.eventLoop.now - lastInbound
        if silence >= configuration.idleTimeout {
            startClose(code: configuration.idleCloseCode, reason: "no traffic for \(silence.nanoseconds / 1_000_000_000) s", context: context)
            return
        }
        if silence >= configuration.pingInterval {
            let ping = WebSocketFrameHeader.frame(opcode: .ping, payload: ByteBuffer(), allocator: context.channel.allocator)
            context.writeAndFlush(wrapOutboundOut(ping), promise: nil)
        }
        scheduleKeepalive(context: context)
    }

    private func cancelTimers() {
        keepalive?.cancel()
        keepalive = nil
        closeTimer?.cancel()
        closeTimer = nil
    }
}

@available(*, unavailable)
extension WebSocketConnectionHandler: Sendable {}
