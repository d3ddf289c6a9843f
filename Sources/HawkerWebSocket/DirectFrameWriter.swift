import NIOCore

/// Where `WebSocketConnectionHandler.writeDirect` sends ready-made frames: something on
/// the socket's side of the pipeline, so that a broadcast passes nothing but what every
/// byte of the connection must. Called on the channel's event loop only.
public protocol DirectFrameWriter: AnyObject {
    /// Writes the frame after everything written to the channel before it; it leaves by
    /// the next `flush()` at the latest.
    func writeFrame(_ frame: ByteBuffer)
    func flush()
}

/// Writes from a handler's context: the frames pass only the handlers between it and the
/// socket (TLS, say), not the handler itself.
public final class ContextFrameWriter: DirectFrameWriter {
    private let context: ChannelHandlerContext

    public init(context: ChannelHandlerContext) {
        self.context = context
    }

    public func writeFrame(_ frame: ByteBuffer) {
        context.write(NIOAny(frame), promise: nil)
    }

    public func flush() {
        context.flush()
    }
}

@available(*, unavailable)
extension ContextFrameWriter: Sendable {}
