import NIOCore
import NIOHTTP1

/// Bounds the time an HTTP connection may take to send a complete request: counted from
/// the connection's opening (its TLS handshake included) or from its previous response.
/// A slowloris client (headers a byte at a time), a silent socket and an idle keep-alive
/// are closed when it passes. While a request is being answered the clock is stopped.
///
/// Sits after NIO's upgrade handler (added by `FastUpgradeHandler` when it hands a request
/// over): an upgrade request that never completes runs out the same clock, and a
/// completed upgrade removes this handler.
final class HTTPRequestTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let timeout: TimeAmount
    /// Called once, when the first complete request arrived: the connection is no longer
    /// half-open.
    private var firstRequest: (() -> Void)?
    private var deadline: Scheduled<Void>?
    /// When the first request must be complete, if not `timeout` from now: a connection
    /// handed over by `FastUpgradeHandler` keeps the clock it started with.
    private let firstDeadline: NIODeadline?

    init(timeout: TimeAmount, firstDeadline: NIODeadline? = nil, firstRequest: @escaping () -> Void) {
        self.timeout = timeout
        self.firstDeadline = firstDeadline
        self.firstRequest = firstRequest
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(context: context, at: firstDeadline ?? context.eventLoop.now + timeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            deadline?.cancel()
            deadline = nil
            if let firstRequest {
                self.firstRequest = nil
                firstRequest()
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd: Bool
        if case .end = unwrapOutboundIn(data) { isEnd = true } else { isEnd = false }
        context.write(data, promise: promise)
        // Answered: the next request has the whole timeout again.
        if isEnd { arm(context: context, at: context.eventLoop.now + timeout) }
    }

    private func arm(context: ChannelHandlerContext, at time: NIODeadline) {
        deadline?.cancel()
        deadline = context.eventLoop.assumeIsolated().scheduleTask(deadline: time) {
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension HTTPRequestTimeoutHandler: Sendable {}
