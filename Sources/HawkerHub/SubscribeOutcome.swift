import HawkerProtocol
import NIOCore

/// What a new subscriber receives before live events.
public struct SubscribeOutcome: Sendable {
    public var position: StreamPosition
    public var start: StreamState.Start
    /// The encoded snapshot (shared by all subscribers until the next event), when
    /// `start` is `.snapshot`.
    public var snapshotJSON: ByteBuffer?
}

/// A stream's state for the HTTP API.
public struct StreamSnapshot: Sendable {
    public var position: StreamPosition
    public var snapshotJSON: ByteBuffer
}

public enum HubError: Error, Sendable, Hashable {
    case streamNotFound
    case tooManyStreams
}
