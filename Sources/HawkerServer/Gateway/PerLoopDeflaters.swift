import HawkerWebSocket
import NIOCore

/// One `MessageDeflater` per event loop: without context takeover a deflater holds no
/// per-connection state, so all connections on a loop share it.
struct PerLoopDeflaters: Sendable {
    private let deflaters: [ObjectIdentifier: NIOLoopBoundBox<MessageDeflater>]

    init(loops: [any EventLoop], level: Int) {
        var deflaters: [ObjectIdentifier: NIOLoopBoundBox<MessageDeflater>] = [:]
        for loop in loops {
            deflaters[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeBoxSendingValue(MessageDeflater(level: level), eventLoop: loop)
        }
        self.deflaters = deflaters
    }

    /// The deflater of `eventLoop`; call on that loop.
    func deflater(on eventLoop: any EventLoop) -> MessageDeflater? {
        deflaters[ObjectIdentifier(eventLoop)]?.value
    }
}
