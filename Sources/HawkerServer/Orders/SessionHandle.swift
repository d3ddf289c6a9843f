import HawkerOrders
import HawkerProtocol
import NIOCore

/// A session as other loops and tasks may hold it: they hop to its loop to write.
struct SessionHandle: Sendable {
    let id: ObjectIdentifier
    let eventLoop: any EventLoop
    private let write: @Sendable (ServerMessage) -> EventLoopFuture<Void>

    init(_ handler: SessionHandler, eventLoop: any EventLoop) {
        let bound = NIOLoopBound(handler, eventLoop: eventLoop)
        self.init(id: ObjectIdentifier(handler), eventLoop: eventLoop) { message in
            eventLoop.flatSubmit { bound.value.write(message, on: eventLoop) }
        }
    }

    /// Any writer (tests stand in for an order service this way).
    init(id: ObjectIdentifier, eventLoop: any EventLoop, write: @escaping @Sendable (ServerMessage) -> EventLoopFuture<Void>) {
        self.id = id
        self.eventLoop = eventLoop
        self.write = write
    }

    /// Writes `message`; the future succeeds once it was written to the socket.
    func send(_ message: ServerMessage) -> EventLoopFuture<Void> {
        write(message)
    }
}
