import HawkerOrders
import HawkerProtocol
import NIOCore

/// A session as other loops and tasks may hold it: they hop to its loop to write.
struct SessionHandle: Sendable {
    let id: ObjectIdentifier
    let eventLoop: any EventLoop
    private let handler: NIOLoopBound<SessionHandler>

    init(_ handler: SessionHandler, eventLoop: any EventLoop) {
        self.id = ObjectIdentifier(handler)
        self.eventLoop = eventLoop
        self.handler = NIOLoopBound(handler, eventLoop: eventLoop)
    }

    /// Writes `message`; the future succeeds once it was written to the socket.
    func send(_ message: ServerMessage) -> EventLoopFuture<Void> {
        let handler = self.handler
        let eventLoop = self.eventLoop
        return eventLoop.flatSubmit { handler.value.write(message, on: eventLoop) }
    }
}
