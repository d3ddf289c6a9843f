import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An OpenTelemetry collector's OTLP/HTTP receiver, as far as the tests need one: it keeps
/// every request (path, content type, raw body) and answers 200 with an empty
/// `ExportTraceServiceResponse`.
final class OTLPCollector: Sendable {
    struct Export: Sendable {
        var path: String
        var contentType: String?
        var body: [UInt8]

        /// Whether the protobuf body holds `text` (strings are stored as their UTF-8 bytes).
        func contains(_ text: String) -> Bool {
            let needle = Array(text.utf8)
            guard needle.count <= body.count else { return false }
            return (0...(body.count - needle.count)).contains { body[$0..<($0 + needle.count)].elementsEqual(needle) }
        }
    }

    private let exports = NIOLockedValueBox<[Export]>([])
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)
    private let group = MultiThreadedEventLoopGroup.singleton

    var received: [Export] { exports.withLockedValue { $0 } }

    /// The base URL, as `tracing.otlp_endpoint` takes it.
    func start() async throws -> String {
        let collector = self
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(collector: collector))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        channel.withLockedValue { $0 = bound }
        return "http://127.0.0.1:\(bound.localAddress!.port!)"
    }

    func stop() async {
        let bound = channel.withLockedValue { channel in
            defer { channel = nil }
            return channel
        }
        try? await bound?.close()
    }

    fileprivate func keep(_ export: Export) {
        exports.withLockedValue { $0.append(export) }
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let collector: OTLPCollector
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(collector: OTLPCollector) {
            self.collector = collector
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                guard let head else { return }
                collector.keep(Export(path: head.uri, contentType: head.headers.first(name: "Content-Type"), body: Array(body.readableBytesView)))
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/x-protobuf")
                headers.add(name: "Content-Length", value: "0")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
