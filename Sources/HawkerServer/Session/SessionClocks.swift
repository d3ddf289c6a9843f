import NIOCore

/// The deadlines of the sessions on one event loop: `connect_timeout_ms` and the token's
/// `exp`. Each loop has its own, so that a session touches only its loop's.
final class SessionClocks {
    let connect: SessionDeadlines<SessionHandler>
    let tokenExpiry: SessionDeadlines<SessionHandler>

    init(eventLoop: any EventLoop) {
        connect = SessionDeadlines(eventLoop: eventLoop) { $0.connectDeadlinePassed() }
        tokenExpiry = SessionDeadlines(eventLoop: eventLoop) { $0.tokenExpired() }
    }

    /// One per loop, built at startup.
    struct PerLoop: Sendable {
        private let clocks: [ObjectIdentifier: NIOLoopBoundBox<SessionClocks>]

        init(loops: [any EventLoop]) {
            var clocks: [ObjectIdentifier: NIOLoopBoundBox<SessionClocks>] = [:]
            for loop in loops {
                clocks[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeBoxSendingValue(SessionClocks(eventLoop: loop), eventLoop: loop)
            }
            self.clocks = clocks
        }

        /// The clocks of `eventLoop`; call on that loop. A loop that is not the gateway's
        /// (a test's) gets clocks of its own, kept by the session.
        func clocks(on eventLoop: any EventLoop) -> SessionClocks {
            clocks[ObjectIdentifier(eventLoop)]?.value ?? SessionClocks(eventLoop: eventLoop)
        }
    }
}
