import HawkerProtocol
import NIOCore

/// A stream's state for the HTTP API.
public struct StreamSnapshot: Sendable {
    public var position: StreamPosition
    public var stateJSON: ByteBuffer
    /// When the stream was archived (it ended or retired and left memory); nil while live.
    public var archivedAt: Int64?

    public init(position: StreamPosition, stateJSON: ByteBuffer, archivedAt: Int64? = nil) {
        self.position = position
        self.stateJSON = stateJSON
        self.archivedAt = archivedAt
    }
}
