import HawkerCommerce
import HawkerProtocol
import NIOCore

/// What a new subscriber receives before live events.
public struct SubscribeOutcome: Sendable {
    public var position: StreamPosition
    public var start: StreamState.Start
    /// The encoded state (shared by joiners until it changes), when `start` is `.snapshot`.
    public var stateJSON: ByteBuffer?
}
