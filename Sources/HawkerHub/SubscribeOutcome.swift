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

/// A stream's state for the HTTP API.
public struct StreamSnapshot: Sendable {
    public var position: StreamPosition
    public var stateJSON: ByteBuffer
}

public enum HubError: Error, Sendable, Hashable {
    case streamNotFound
    /// The creator has as many streams as its quota allows (`StreamOwnership`).
    case streamQuotaReached
    case tooManyStreams
    /// The stream's room refused the event or command.
    case rejected(RoomError)
}
