import HawkerOrders
import NIOCore

extension SessionHandle {
    /// The handle of a session: writes hop to its loop.
    init(_ handler: SessionHandler, eventLoop: any EventLoop) {
        let bound = NIOLoopBound(handler, eventLoop: eventLoop)
        self.init(id: ObjectIdentifier(handler), eventLoop: eventLoop) { message in
            eventLoop.flatSubmit { bound.value.write(message, on: eventLoop) }
        }
    }
}
