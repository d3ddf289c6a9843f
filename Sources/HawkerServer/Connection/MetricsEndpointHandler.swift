import NIOCore
import NIOHTTP1

/// The whole HTTP side of the `metrics.port` listener: `GET /metrics` without a token,
/// for a Prometheus that scrapes a private address. Nothing else is served there.
final class MetricsEndpointHandler: ChannelInboundHandler {
    typealias InboundIn = NIOHTTPServerRequestFull
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: GatewayMetrics

    init(metrics: GatewayMetrics) {
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let request = unwrapInboundIn(data)
        let path = request.head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.head.uri
        let response: HTTPResponse
        switch (request.head.method, path) {
        case (.GET, "/metrics"), (.HEAD, "/metrics"): response = .metrics(metrics)
        case (_, "/metrics"): response = .error(.methodNotAllowed, code: "method_not_allowed", "method not allowed")
        default: response = .error(.notFound, code: "not_found", "this listener serves GET /metrics only")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.readableBytes)")
        headers.add(name: "Cache-Control", value: response.cacheControl)
        let keepAlive = request.head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        if request.head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { done.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is OutboundBudgetExceeded { return context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension MetricsEndpointHandler: Sendable {}
