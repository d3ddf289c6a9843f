import HawkerProtocol
import NIOCore

/// A connection that receives a stream's broadcast frames, called on its own event loop.
public protocol StreamSubscriber: AnyObject {
    /// Writes (without flushing) `frame`; returns true when the subscriber now has
    /// unflushed writes and was not yet waiting for `flushDeliveries()`.
    func receive(_ frame: BroadcastFrame, from stream: StreamID) -> Bool
    /// Flushes what `receive` wrote: called once per batch, not per frame.
    func flushDeliveries()
}
