import HawkerProtocol
import NIOCore

/// A connection that receives a stream's broadcast frames, called on its own event loop.
public protocol StreamSubscriber: AnyObject {
    /// Writes (without flushing) `frame`. Returns what to flush once the batch is
    /// written, when this write is the first it holds since it was last flushed; nil when
    /// it already waits for that flush or nothing was written.
    func receive(_ frame: BroadcastFrame, from stream: StreamID) -> (any BroadcastFlusher)?
}
