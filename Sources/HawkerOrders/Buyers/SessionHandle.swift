import HawkerProtocol
import NIOCore

/// A client connection as other loops and tasks may hold it (a buyer's session, an order
/// service's): they hop to its loop to write.
public struct SessionHandle: Sendable {
    public let id: ObjectIdentifier
    public let eventLoop: any EventLoop
    private let write: @Sendable (ServerMessage) -> EventLoopFuture<Void>

    /// `write` writes a message on the connection's loop; its future succeeds once the
    /// message was written to the socket.
    public init(id: ObjectIdentifier, eventLoop: any EventLoop, write: @escaping @Sendable (ServerMessage) -> EventLoopFuture<Void>) {
        self.id = id
        self.eventLoop = eventLoop
        self.write = write
    }

    /// Writes `message`; the future succeeds once it was written to the socket.
    public func send(_ message: ServerMessage) -> EventLoopFuture<Void> {
        write(message)
    }
}
