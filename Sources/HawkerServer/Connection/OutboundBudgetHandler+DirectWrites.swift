import HawkerHub
import HawkerWebSocket
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Broadcasts leave here, past the budget (`ViewerDelivery` holds them to it).
///
/// With the socket's descriptor, the one frame a viewer gets between two flushes (the
/// common case: an event at a time) goes to the kernel at the flush with one `send(2)`,
/// while NIO's queue for the connection is empty: no pipeline write, no pending-writes
/// entry, no NIO flush. That was most of the user-space cost of a delivery
/// (scripts/bench/NOTES.md). When a second frame comes before the flush (a loop behind,
/// several events per turn), both go into NIO's queue and leave in one `writev` at the
/// flush, as before: a send per frame would cost a system call each where one does.
///
/// Order is kept because a frame is sent directly only when nothing written before it
/// waits in NIO, and a pipeline write (a reply, a push) puts a waiting frame into NIO's
/// queue ahead of itself. What the kernel does not take (a full socket buffer, the rest
/// of a partial send) goes into NIO's queue, and every frame after it too until the queue
/// is seen empty again, so NIO still does the waiting for writability and the slow-viewer
/// accounting (high-water mark, budget) reads its queue as before. An error is left for
/// NIO to meet on its own write of the same frame, so that it closes the channel its
/// usual way.
///
/// The handler is also the flush the hub calls once per batch (`BroadcastFlusher`): the
/// flush pass over a loop's viewers touches this handler alone, not the session and the
/// WebSocket layer above it.
extension OutboundBudgetHandler: DirectFrameWriter, BroadcastFlusher {
    func writeFrame(_ frame: ByteBuffer) -> Bool {
        guard let context else { return false }
        defer { flushDue = true }
        if socket != nil, waitingFrame == nil, !frameAwaitsFlush, nioHoldsNothing(context) {
            waitingFrame = frame
            return !flushDue
        }
        if let earlier = waitingFrame {
            waitingFrame = nil
            queue(earlier, context: context)
        }
        queue(frame, context: context)
        return !flushDue
    }

    /// From whoever flushes through the WebSocket layer (`flushDirect`), perhaps from a
    /// callback of NIO's close: the channel's state says whether the descriptor is still
    /// the connection's.
    func flush() {
        flush(channelOpen: context?.channel.isActive ?? false)
    }

    /// The hub's flush of a batch: a task of its own, never from within NIO's close, so
    /// whether the channel is closed is known here without reading the channel's state
    /// (three objects, a cache miss each, for every viewer of a 10,000-viewer event).
    func flushBroadcasts() {
        flush(channelOpen: !channelClosed)
    }

    private func flush(channelOpen: @autoclosure () -> Bool) {
        flushDue = false
        guard let context else { return }
        sendWaitingFrame(context: context, channelOpen: channelOpen())
        guard frameAwaitsFlush else { return }
        frameAwaitsFlush = false
        context.flush()
    }

    func directWritesEnded() { webSocketOpen = false }

    /// Sends the frame waiting for the flush, if any. NIO's queue is empty while one
    /// waits (whatever else is written puts it into the queue first). Once the channel is
    /// closed its descriptor may belong to another connection: the frame is dropped.
    func sendWaitingFrame(context: ChannelHandlerContext, channelOpen: @autoclosure () -> Bool) {
        guard let frame = waitingFrame, let socket else { return }
        waitingFrame = nil
        guard channelOpen() else { return }
        let size = frame.readableBytes
        let sent = frame.withUnsafeReadableBytes { bytes in
            // MSG_NOSIGNAL: a peer gone is an EPIPE for NIO to see, not a SIGPIPE.
            send(socket, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        }
        if sent == size { return }
        if sent > 0 {
            queue(frame.getSlice(at: frame.readerIndex + sent, length: size - sent)!, context: context)
        } else {
            // EAGAIN (the socket buffer is full), EINTR, or an error NIO will report.
            queue(frame, context: context)
        }
    }

    /// NIO's queue length is a channel option lookup: it is read only after something
    /// went through NIO since the queue was last seen empty.
    private func nioHoldsNothing(_ context: ChannelHandlerContext) -> Bool {
        guard queueMayHoldBytes else { return true }
        guard context.channel.bufferedOutboundBytes == 0 else { return false }
        queueMayHoldBytes = false
        return true
    }

    func queue(_ frame: ByteBuffer, context: ChannelHandlerContext) {
        queueMayHoldBytes = true
        frameAwaitsFlush = true
        context.write(NIOAny(frame), promise: nil)
    }
}
