import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A small WebSocket client on NIO: `hawker tail` and `hawker publish`, the tests and the
/// load generator use it. Every frame it sends is masked, as RFC 6455 requires.
public final class WebSocketClient: Sendable {
    /// What arrives from the server.
    public enum Inbound: Sendable, Equatable {
        case text(String)
        case binary(ByteBuffer)
        /// A frame with RSV1 set (permessage-deflate); the payload is still compressed.
        case compressed(opcode: UInt8, ByteBuffer)
        case close(code: UInt16?, reason: String)
    }

    public struct Options: Sendable {
        public var path = "/ws"
        public var subprotocol: String? = "hawker.v1"
        public var origin: String?
        public var extensions: String?
        public var maxFrameSize = 1 << 24
        /// Local address to connect from (for example 127.0.0.2): one source address has
        /// about 28,000 ephemeral ports towards one server port, so load tests beyond that
        /// spread over several.
        public var sourceAddress: SocketAddress?
        /// SO_RCVBUF for the socket; nil leaves the kernel's autotuning. Load tests make
        /// slow readers with a small one.
        public var receiveBufferBytes: Int?

        public init() {}
    }

    public enum ClientError: Error, Sendable, Equatable {
        case upgradeRefused
        case timedOut
    }

    public let channel: any Channel
    private let mailbox: InboundMailbox<Inbound>

    private init(channel: any Channel, mailbox: InboundMailbox<Inbound>) {
        self.channel = channel
        self.mailbox = mailbox
    }

    public static func connect(
        host: String,
        port: Int,
        options: Options = Options(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> WebSocketClient {
        let mailbox = InboundMailbox<Inbound>()
        var bootstrap = ClientBootstrap(group: group).channelOption(.socketOption(.tcp_nodelay), value: 1)
        if let source = options.sourceAddress { bootstrap = bootstrap.bind(to: source) }
        if let bytes = options.receiveBufferBytes { bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(bytes)) }
        let (channel, upgraded) =
            try await bootstrap
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    (channel, try configure(channel, host: host, port: port, options: options, mailbox: mailbox))
                }
            }
        guard try await upgraded.get() else {
            try? await channel.close()
            throw ClientError.upgradeRefused
        }
        return WebSocketClient(channel: channel, mailbox: mailbox)
    }

    private static func configure(
        _ channel: any Channel,
        host: String,
        port: Int,
        options: Options,
        mailbox: InboundMailbox<Inbound>
    ) throws -> EventLoopFuture<Bool> {
        let upgrader = NIOTypedWebSocketClientUpgrader<Bool>(
            maxFrameSize: options.maxFrameSize,
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ClientFrameHandler(mailbox: mailbox))
                    return true
                }
            }
        )
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(host):\(port)")
        headers.add(name: "Content-Length", value: "0")
        if let subprotocol = options.subprotocol { headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol) }
        if let origin = options.origin { headers.add(name: "Origin", value: origin) }
        if let extensions = options.extensions { headers.add(name: "Sec-WebSocket-Extensions", value: extensions) }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: options.path, headers: headers)
        let configuration = NIOTypedHTTPClientUpgradeConfiguration(
            upgradeRequestHead: head,
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(false) }
        )
        var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
        // Frames that come in the same read as the 101 (a server that closes or speaks at
        // once, read late by a busy client) go on to the WebSocket decoder; NIO's default
        // drops them (a close frame lost that way left a test waiting for the close timeout).
        pipeline.leftOverBytesStrategy = .forwardBytes
        return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
    }

    /// Sends one text message.
    public func send(text: String) async throws {
        try await send(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text)))
    }

    /// Sends a frame (unmasked payload), masked with a random key by NIO's encoder unless
    /// `masked` is false (tests use that for deliberately broken frames).
    public func send(_ frame: WebSocketFrame, masked: Bool = true) async throws {
        var frame = frame
        if masked && frame.maskKey == nil {
            frame.maskKey = .random()
        }
        try await channel.writeAndFlush(frame)
    }

    /// The next thing the server sent, nil once the connection is closed.
    public func next(timeout: TimeAmount = .seconds(10)) async throws -> Inbound? {
        try await mailbox.next(timeout: timeout, on: channel.eventLoop, timeoutError: ClientError.timedOut)
    }

    /// From now on, hands every text message to `sink` on the connection's event loop
    /// instead of queueing it for `next()`.
    public func divertText(to sink: @escaping @Sendable (ByteBuffer) -> Void) async throws {
        try await channel.eventLoop.submit { [channel] in
            try channel.pipeline.syncOperations.handler(type: ClientFrameHandler.self).textSink = sink
        }.get()
    }

    /// Sends a close frame and waits for the TCP connection to end.
    public func close(code: UInt16 = 1000) async {
        var payload = ByteBuffer()
        payload.writeInteger(code)
        try? await send(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload))
        try? await channel.closeFuture.get()
    }

    /// Drops the TCP connection without a close handshake.
    public func abort() async {
        try? await channel.close()
    }
}
