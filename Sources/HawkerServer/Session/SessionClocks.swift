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
}
