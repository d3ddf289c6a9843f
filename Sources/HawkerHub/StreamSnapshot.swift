import HawkerProtocol
import NIOCore

/// A stream's state for the HTTP API.
public struct StreamSnapshot: Sendable {
    public var position: StreamPosition
    public var stateJSON: ByteBuffer
}
