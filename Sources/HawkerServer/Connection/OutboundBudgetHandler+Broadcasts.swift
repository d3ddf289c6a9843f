import HawkerHub
import HawkerProtocol

/// On a plain connection this handler is what the hub delivers a session's broadcasts to:
/// while the session would write the next frame as it is (open, not backed up, the
/// WebSocket layer open) and NIO holds nothing for the socket (so it is writable and
/// owes nothing), the frame goes to `writeFrame` here, and the delivery touches this one
/// object of the connection. At 10,000 viewers an event's fan-out walks 10,000 of them,
/// none in cache. Otherwise the session decides, as before (`ViewerDelivery`): this only
/// skips what the session would have done the same way.
extension OutboundBudgetHandler: StreamSubscriber {
    func receive(_ frame: BroadcastFrame, from stream: StreamID) -> (any BroadcastFlusher)? {
        guard sessionWritesBroadcasts, webSocketOpen, nioQueueIsEmpty, !isSpent else {
            return session?.receive(frame, from: stream)
        }
        return writeFrame(deflatedBroadcasts ? (frame.deflated ?? frame.plain) : frame.plain) ? self : nil
    }
}
