import NIOCore
import NIOWebSocket

/// Turns received frames into `WebSocketClient.Inbound` values; answers pings.
final class ClientFrameHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let mailbox: InboundMailbox<WebSocketClient.Inbound>
    /// When set, text messages go here instead of the mailbox (load generators count
    /// them on the event loop without queueing).
    var textSink: (@Sendable (ByteBuffer) -> Void)?
    private var fragments: ByteBuffer?
    private var fragmentOpcode: WebSocketOpcode = .text

    init(mailbox: InboundMailbox<WebSocketClient.Inbound>) {
        self.mailbox = mailbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .pong:
            break
        case .connectionClose:
            var payload = frame.unmaskedData
            let code = payload.readInteger(as: UInt16.self)
            let reason = payload.readString(length: payload.readableBytes) ?? ""
            mailbox.push(.close(code: code, reason: reason))
        case .text, .binary, .continuation:
            if frame.rsv1 {
                mailbox.push(.compressed(opcode: UInt8(webSocketOpcode: frame.opcode), frame.unmaskedData))
                return
            }
            if frame.opcode != .continuation { fragmentOpcode = frame.opcode }
            var data = frame.unmaskedData
            if var partial = fragments {
                partial.writeBuffer(&data)
                data = partial
            }
            guard frame.fin else {
                fragments = data
                return
            }
            fragments = nil
            if fragmentOpcode == .text, let textSink {
                textSink(data)
            } else if fragmentOpcode == .text {
                mailbox.push(.text(String(buffer: data)))
            } else {
                mailbox.push(.binary(data))
            }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        mailbox.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ClientFrameHandler: Sendable {}
