import NIOCore

/// One value per event loop of the gateway, built at startup and used only on its loop:
/// the loops' shared deflaters (without context takeover a deflater holds no
/// per-connection state) and session deadline heaps.
struct PerLoop<Value>: Sendable {
    private let values: [ObjectIdentifier: NIOLoopBoundBox<Value>]

    init(loops: [any EventLoop], make: (any EventLoop) -> Value) {
        var values: [ObjectIdentifier: NIOLoopBoundBox<Value>] = [:]
        for loop in loops {
            values[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeBoxSendingValue(make(loop), eventLoop: loop)
        }
        self.values = values
    }

    /// The value of `eventLoop`; call on that loop. Nil for a loop that is not the
    /// gateway's (a test's).
    func value(on eventLoop: any EventLoop) -> Value? {
        values[ObjectIdentifier(eventLoop)]?.value
    }
}
