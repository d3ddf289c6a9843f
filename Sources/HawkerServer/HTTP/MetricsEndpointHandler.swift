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
        response.write(to: context, keepAlive: request.head.isKeepAlive, headOnly: request.head.method == .HEAD)
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
