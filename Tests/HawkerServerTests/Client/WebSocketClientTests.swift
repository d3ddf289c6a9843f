import Crypto
import Foundation
import HawkerClient
import NIOCore
import NIOPosix
import Testing

/// The WebSocket client the tests and the load tool use.
@Suite struct WebSocketClientTests {
    /// A server that answers the upgrade and speaks at once can land both in one read of a
    /// busy client: the frame after the 101 must reach it, not be dropped with the HTTP
    /// decoder (a lost close frame made a test wait for the server's close timeout).
    @Test func aFrameInTheSameReadAsTheUpgradeArrives() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(UpgradeThenClose()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let client = try await WebSocketClient.connect(host: "127.0.0.1", port: port)
        let first = try await client.next(timeout: .seconds(10))
        #expect(first == .close(code: 4000, reason: "bye"))
        await client.abort()
        try await server.close()
    }
}

/// Reads a request head, then writes the 101 and a close frame (4000 "bye") in one write.
private final class UpgradeThenClose: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var request = ""

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        request += String(buffer: unwrapInboundIn(data))
        guard request.contains("\r\n\r\n") else { return }
        let key =
            request.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? ""
        let accept = Data(Insecure.SHA1.hash(data: Data((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))).base64EncodedString()
        var out = context.channel.allocator.buffer(capacity: 256)
        out.writeString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n\r\n")
        // FIN + close, unmasked, payload: the code (4000) and "bye".
        out.writeBytes([0x88, 5, 0x0F, 0xA0])
        out.writeString("bye")
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        request = ""
    }
}
