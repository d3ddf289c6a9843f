import HawkerHub
import HawkerWebSocket
import NIOCore

/// Fired inbound when a connection is owed more than its outbound budget: the protocol
/// on top says goodbye in its own way (4001 for a session, an HTTP close).
struct OutboundBudgetExceeded: Sendable {
    let limit: Int
}

/// The one outbound budget of a connection, first in its pipeline (on the socket's side
/// of TLS), so that it sees everything written to the connection: HTTP responses,
/// replies, errors, pongs and pushes. Broadcasts on a plain connection leave through it
/// but past its count (`DirectFrameWriter`, OutboundBudgetHandler+DirectWrites.swift):
/// with the connection's socket descriptor straight to the socket with `send(2)` while
/// NIO holds nothing for it, else into NIO's queue from its context. `ViewerDelivery`
/// holds them to the same budget, and `isSpent` is checked before each (here, when this
/// handler takes a session's broadcasts, else by the session).
///
/// The channel's own write queue is the measure: NIO counts every byte written and not
/// yet taken by the kernel. Past the budget the connection is told once
/// (`OutboundBudgetExceeded`), may still write what it had queued plus `slack` (a close
/// frame), and is closed after `grace` whatever the layers above do. What a connection
/// can make the gateway hold is therefore bounded whatever the client does.
final class OutboundBudgetHandler: ChannelDuplexHandler {
    // Everything that reaches the socket is bytes: ByteBuffers, or IOData from NIO's HTTP encoder.
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData
    // Inbound it only watches for the channel's end (reads pass untouched).
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    struct Refused: Error {}

    private let limit: Int
    private let slack: Int
    private let grace: TimeAmount
    /// Set once the budget is spent: the most the queue may hold from then on.
    private var ceiling: Int?
    /// The connection's socket, when the gateway accepted it itself (`SocketAcceptor`);
    /// nil over TLS and in tests on EmbeddedChannel.
    let socket: CInt?
    /// This handler's context, for the frames written past it.
    var context: ChannelHandlerContext?
    /// NIO's queue may hold bytes: something was written through it since the queue was
    /// last seen empty. Broadcasts go to the socket directly only when it does not.
    var queueMayHoldBytes = true
    /// A frame went into NIO's queue past this handler and waits for a flush.
    var frameAwaitsFlush = false
    /// The one frame of this flush so far, to be sent directly at the flush.
    var waitingFrame: ByteBuffer?
    /// A broadcast was written since the last `flush()`, whose caller was told to call it
    /// (`DirectFrameWriter.writeFrame`).
    var flushDue = false
    /// NIO told the pipeline the channel is closed. NIO closes the descriptor first and
    /// tells the pipeline after, with callbacks in between: only code outside that close
    /// (the fan-out's flush, a task of its own) may rely on this instead of the channel's
    /// state.
    var channelClosed = false
    /// The session this handler takes broadcasts for (`OutboundBudgetHandler+Broadcasts`),
    /// until it is torn down.
    var session: (any StreamSubscriber)?
    /// The session would write the next broadcast as it is: open, and its viewer not
    /// backed up. Kept by the session.
    var sessionWritesBroadcasts = false
    /// The WebSocket layer takes broadcasts: its close handshake has not started.
    var webSocketOpen = true
    /// Broadcasts go out compressed with the full window (the session's choice).
    var deflatedBroadcasts = false

    /// The budget is spent: nothing but a close frame may be queued any more. Broadcasts,
    /// which are written past this handler's count, are held to it before they are
    /// written (`receive`, `SessionHandler.receive`).
    var isSpent: Bool { ceiling != nil }

    /// Nothing written through NIO since its queue for the socket was last seen empty:
    /// so it still is, and the channel is writable. False over TLS (no direct sends).
    var nioQueueIsEmpty: Bool { !queueMayHoldBytes }

    init(limit: Int, slack: Int = 4_096, grace: TimeAmount, socket: CInt? = nil) {
        self.limit = limit
        self.slack = slack
        self.grace = grace
        self.socket = socket
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        waitingFrame = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        channelClosed = true
        sessionWritesBroadcasts = false
        waitingFrame = nil
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // A broadcast frame waiting for the flush was written first: it goes first.
        if let frame = waitingFrame {
            waitingFrame = nil
            queue(frame, context: context)
        }
        queueMayHoldBytes = true
        if let ceiling, context.channel.bufferedOutboundBytes + unwrapOutboundIn(data).readableBytes > ceiling {
            promise?.fail(Refused())
            return
        }
        context.write(data, promise: promise)
        // Writability flips at the high-water mark, far below the budget: while the
        // channel is writable there is nothing to count.
        guard ceiling == nil, !context.channel.isWritable else { return }
        let queued = context.channel.bufferedOutboundBytes
        if queued > limit { exceeded(queued: queued, context: context) }
    }

    func flush(context: ChannelHandlerContext) {
        // A pipeline flush may come from a callback of NIO's close, after the descriptor
        // was closed and before `channelInactive`: the channel's state says.
        sendWaitingFrame(context: context, channelOpen: context.channel.isActive)
        frameAwaitsFlush = false
        context.flush()
    }

    private func exceeded(queued: Int, context: ChannelHandlerContext) {
        ceiling = queued + slack
        let limit = self.limit
        let loop = context.eventLoop.assumeIsolated()
        // Told after this write returns: the writer may be in the middle of a fan-out.
        loop.execute { context.fireUserInboundEventTriggered(OutboundBudgetExceeded(limit: limit)) }
        loop.scheduleTask(in: grace) { context.close(promise: nil) }
    }
}

@available(*, unavailable)
extension OutboundBudgetHandler: Sendable {}

extension Channel {
    /// Bytes written to the channel and not yet taken by the kernel (0 once closed).
    var bufferedOutboundBytes: Int {
        (try? syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }
}
