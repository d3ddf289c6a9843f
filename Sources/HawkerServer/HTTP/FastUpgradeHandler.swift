import NIOCore
import NIOHTTP1

/// A new connection's first handler: a plain WebSocket upgrade request (what browsers and
/// client libraries send) is answered here, without NIO's HTTP pipeline; anything else is
/// handed to that pipeline with the bytes read so far.
///
/// The HTTP pipeline costs a handshake eight handlers added and removed and a chain of
/// futures around the 101 response; a viewer connecting in a storm spends much of its
/// server time there. Here the request is scanned in place (`UpgradeRequestScanner`),
/// the same upgrader decides and writes the same 101 response, and the WebSocket layer is
/// installed directly. Requests the scanner does not recognise, and upgrades the policy
/// refuses, go through NIO's pipeline, which answers them as it always has (the refusal's
/// explanation included).
///
/// The request must be complete before the deadline set when the connection opened
/// (`http.request_timeout_ms`); a request handed over keeps what is left of it.
final class FastUpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Adds NIO's HTTP pipeline after this handler; the argument is the request's deadline.
    typealias HandOver = (ChannelHandlerContext, NIODeadline) throws -> Void

    private enum State {
        case reading
        /// Upgraded or handed over: leaving the pipeline.
        case done
    }

    private let upgrader: WebSocketUpgrader
    private let timeout: TimeAmount
    private let handOver: HandOver
    /// Called on a successful upgrade: the connection is no longer half-open.
    private let upgraded: (any Channel) -> Void
    private var state = State.reading
    private var scanner = UpgradeRequestScanner()
    /// The request so far; after the upgrade, what followed it.
    private var received: ByteBuffer?
    private var deadline = NIODeadline.distantFuture
    private var timer: Scheduled<Void>?

    init(upgrader: WebSocketUpgrader, timeout: TimeAmount, upgraded: @escaping (any Channel) -> Void, handOver: @escaping HandOver) {
        self.upgrader = upgrader
        self.timeout = timeout
        self.upgraded = upgraded
        self.handOver = handOver
    }

    func handlerAdded(context: ChannelHandlerContext) {
        deadline = context.eventLoop.now + timeout
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if received == nil {
            guard state == .reading else {
                // Left the pipeline's order already: what was held went on.
                context.fireChannelRead(data)
                return
            }
            received = bytes
        } else {
            // Decided but not yet out of the pipeline (a read re-entered): it goes on after
            // what came before it.
            received!.writeBuffer(&bytes)
        }
        guard state == .reading else { return }
        switch scanner.scan(received!) {
        case .needMore:
            break
        case .notRecognised:
            handOverToHTTP(context: context)
        case .upgrade(let head, let length):
            upgrade(head, length: length, context: context)
        }
    }

    /// A read error before the request was complete ends the connection (NIO's HTTP
    /// handlers did so too); after, it is for the handlers installed.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard state == .reading else {
            context.fireErrorCaught(error)
            return
        }
        context.close(promise: nil)
    }

    /// Leaving the pipeline: what followed the request (frames sent with it) or the
    /// request itself (handed over) goes to the handlers installed after this one.
    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        if let rest = received, rest.readableBytes > 0 {
            received = nil
            context.fireChannelRead(wrapInboundOut(rest))
            context.fireChannelReadComplete()
        }
        received = nil
        context.leavePipeline(removalToken: removalToken)
    }

    private func upgrade(_ head: HTTPRequestHead, length: Int, context: ChannelHandlerContext) {
        let initial = HTTPHeaders([("connection", "upgrade"), ("upgrade", "websocket")])
        guard let (headers, decision) = try? WebSocketUpgrader.accept(head, policy: upgrader.policy, initialResponseHeaders: initial) else {
            // Refused: NIO's pipeline and the HTTP handler explain why, as for any client.
            handOverToHTTP(context: context)
            return
        }
        state = .done
        stopTimer()
        var response = context.channel.allocator.buffer(capacity: 256)
        response.writeStaticString("HTTP/1.1 101 Switching Protocols\r\n")
        for (name, value) in headers {
            response.writeString(name)
            response.writeStaticString(": ")
            response.writeString(value)
            response.writeStaticString("\r\n")
        }
        response.writeStaticString("\r\n")
        context.write(wrapOutboundOut(response), promise: nil)
        received?.moveReaderIndex(forwardBy: length)
        do {
            try upgrader.install(on: context.channel, decision: decision)
        } catch {
            // Only a pipeline already closed refuses handlers: the 101 goes nowhere.
            context.close(promise: nil)
            return
        }
        upgraded(context.channel)
        // Out of the pipeline first, which hands what followed the request to the session
        // (its replies queue behind the 101), then one flush for all of it: the channel's,
        // since this handler's context has left.
        let channel = context.channel
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        channel.flush()
    }

    private func handOverToHTTP(context: ChannelHandlerContext) {
        state = .done
        stopTimer()
        do {
            try handOver(context, deadline)
        } catch {
            context.close(promise: nil)
            return
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func stopTimer() {
        timer?.cancel()
        timer = nil
    }
}

@available(*, unavailable)
extension FastUpgradeHandler: Sendable {}
