import HawkerWebSocket
import NIOCore

/// Echoes every message back: the target of the Autobahn|Testsuite, on the same
/// transport stack as `/ws`. Only mounted with `conformance_echo`.
final class ConformanceEchoHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketMessage
    typealias OutboundOut = ByteBuffer

    private let framer: WebSocketFramer

    init(framer: WebSocketFramer) {
        self.framer = framer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        context.write(wrapOutboundOut(framer.frame(message.kind, message.data, allocator: context.channel.allocator)), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is OutboundBudgetExceeded {
            context.triggerUserOutboundEvent(WebSocketCloseRequest(code: 1008, reason: "outbound budget exceeded"), promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

@available(*, unavailable)
extension ConformanceEchoHandler: Sendable {}
