import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A loopback HTTP/1.1 server for the tests' stand-ins (a merchant's webhook, an
/// OpenTelemetry collector): each complete request goes to the responder, whose answer is
/// sent back; a nil answer leaves the request hanging.
final class TestHTTPServer: Sendable {
    struct Response: Sendable {
        var status: HTTPResponseStatus
        var contentType: String
        var body: String
    }

    typealias Responder = @Sendable (HTTPRequestHead, ByteBuffer) -> Response?

    private let channel = NIOLockedValueBox<(any Channel)?>(nil)
    private let portBox = NIOLockedValueBox(0)
    private let group: MultiThreadedEventLoopGroup

    init(group: MultiThreadedEventLoopGroup = .singleton) {
        self.group = group
    }

    /// The port bound last (0 before the first `start`).
    var port: Int { portBox.withLockedValue { $0 } }

    /// Binds on `port`, or a free one.
    func start(port: Int = 0, respond: @escaping Responder) async throws {
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(respond: respond))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        channel.withLockedValue { $0 = bound }
        portBox.withLockedValue { $0 = bound.localAddress!.port! }
    }

    /// Stops listening: requests meet "connection refused" until `start` again.
    func stop() async {
        let bound = channel.withLockedValue { channel in
            defer { channel = nil }
            return channel
        }
        try? await bound?.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let respond: Responder
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(respond: @escaping Responder) {
            self.respond = respond
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                guard let head, let response = respond(head, body) else { return }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: response.contentType)
                headers.add(name: "Content-Length", value: "\(response.body.utf8.count)")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: response.body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
