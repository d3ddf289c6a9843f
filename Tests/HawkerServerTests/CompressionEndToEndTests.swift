import Foundation
import HawkerAuth
import HawkerClient
import HawkerProtocol
import HawkerServer
import HawkerWebSocket
import NIOCore
import Testing

/// permessage-deflate: one compressed broadcast frame for every viewer that negotiated it.
@Suite struct CompressionEndToEndTests {
    @Test func broadcastsArriveCompressedAndInflateToTheEvent() async throws {
        let server = try await TestGateway.start { $0.compressionMinBytes = 400 }
        _ = try await server.publish("z", "stream.started", [:])
        var options = WebSocketClient.Options()
        options.extensions = "permessage-deflate; client_no_context_takeover"
        let socket = try await WebSocketClient.connect(host: "127.0.0.1", port: server.port, options: options)
        let viewer = TestClient(connection: HawkerConnection(socket: socket))
        try await viewer.send(["type": "connect", "id": "c", "token": .string(try await server.token(.viewer, streams: ["z"]))])
        _ = try await viewer.receive()  // welcome: below the minimum size, uncompressed
        try await viewer.send(["type": "subscribe", "id": "s", "stream": "z"])
        _ = try await viewer.receive()

        let text = String(repeating: "Only 3 left of the waxed jacket! ", count: 14)
        _ = try await server.publish("z", "announcement", ["text": .string(text)])
        // Small pushes (presence, when the viewer joined) may come first, uncompressed.
        var frame = try await socket.next()
        while case .text(let pushed) = frame, pushed.contains(#""type":"presence""#) || pushed.contains(#""type":"social_proof""#) {
            frame = try await socket.next()
        }
        guard case .compressed(let opcode, let payload) = frame else {
            Issue.record("expected a compressed frame, got \(String(describing: frame))")
            return
        }
        #expect(opcode == 0x1)
        let inflated = try MessageInflater(clientNoContextTakeover: true).inflate(payload, maxBytes: 1 << 20, allocator: ByteBufferAllocator())
        #expect(payload.readableBytes < inflated.readableBytes)
        let event = String(buffer: inflated)
        #expect(event.contains(#""type":"event""#))
        #expect(event.contains(text))
        await socket.close()
        await server.stop()
    }
}
