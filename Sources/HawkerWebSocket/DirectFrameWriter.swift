import NIOCore

/// Where `WebSocketConnectionHandler.writeDirect` sends ready-made frames (a writer may
/// also take broadcasts itself): something on the socket's side of the pipeline, so that
/// a broadcast passes nothing but what every byte of the connection must. Called on the
/// channel's event loop only.
public protocol DirectFrameWriter: AnyObject {
    /// Writes the frame after everything written to the channel before it; it leaves by
    /// the next `flush()` at the latest. True when it is the first frame since the last
    /// `flush()`: the caller sees to one `flush()` for the batch (a flush through the
    /// pipeline in between does not count, so a batch is never left without one).
    func writeFrame(_ frame: ByteBuffer) -> Bool
    func flush()
    /// The close handshake started: `writeFrame` is not called any more (a writer that
    /// takes broadcasts on its own, past the WebSocket layer, stops).
    func directWritesEnded()
}

/// Writes from a handler's context: the frames pass only the handlers between it and the
/// socket (TLS, say), not the handler itself.
public final class ContextFrameWriter: DirectFrameWriter {
    private let context: ChannelHandlerContext
    private var flushDue = false

    public init(context: ChannelHandlerContext) {
        self.context = context
    }

    public func writeFrame(_ frame: ByteBuffer) -> Bool {
        context.write(NIOAny(frame), promise: nil)
        defer { flushDue = true }
        return !flushDue
    }

    public func flush() {
        flushDue = false
        context.flush()
    }

    public func directWritesEnded() {}
}

@available(*, unavailable)
extension ContextFrameWriter: Sendable {}
