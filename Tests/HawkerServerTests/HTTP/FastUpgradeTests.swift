import Foundation
import HawkerAuth
import NIOCore
import Testing

@testable import HawkerServer

/// The handshake without NIO's HTTP pipeline (`http.fast_upgrade`, on by default) answers
/// every request byte for byte as the pipeline does, and what a client sends with its
/// upgrade request reaches the session.
@Suite struct FastUpgradeTests {
    private static let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"

    private static let requests: [(String, String)] = [
        ("an upgrade", "GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n\(key)Sec-WebSocket-Version: 13\nSec-WebSocket-Protocol: hawker.v1\n\n"),
        (
            "a browser's upgrade",
            "GET /ws?x=1 HTTP/1.1\nhost: a\nconnection: keep-alive, Upgrade\nUPGRADE: WebSocket\norigin: https://shop.example\n\(key)sec-websocket-version:13\n"
                + "Sec-WebSocket-Protocol: chat, hawker.v1\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\nUser-Agent: Mozilla/5.0 (X11)\n\n"
        ),
        ("the echo endpoint, off", "GET /echo HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n\(key)Sec-WebSocket-Version: 13\n\n"),
        ("another path", "GET /nope HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n\(key)Sec-WebSocket-Version: 13\nSec-WebSocket-Protocol: hawker.v1\n\n"),
        ("a bad key", "GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\nSec-WebSocket-Key: short\nSec-WebSocket-Version: 13\nSec-WebSocket-Protocol: hawker.v1\n\n"),
        ("two keys", "GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n\(key)\(key)Sec-WebSocket-Version: 13\nSec-WebSocket-Protocol: hawker.v1\n\n"),
        ("version 8", "GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n\(key)Sec-WebSocket-Version: 8\nSec-WebSocket-Protocol: hawker.v1\n\n"),
        ("no subprotocol", "GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n\(key)Sec-WebSocket-Version: 13\n\n"),
        (
            "an origin not allowed",
            "GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\nOrigin: https://evil.example\n\(key)Sec-WebSocket-Version: 13\nSec-WebSocket-Protocol: hawker.v1\n\n"
        ),
        (
            "two origins",
            "GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\nOrigin: https://shop.example\nOrigin: https://shop.example\n\(key)Sec-WebSocket-Version: 13\nSec-WebSocket-Protocol: hawker.v1\n\n"
        ),
        ("no Connection: upgrade", "GET /ws HTTP/1.1\nHost: a\nUpgrade: websocket\n\(key)Sec-WebSocket-Version: 13\nSec-WebSocket-Protocol: hawker.v1\n\n"),
        ("an empty body", "GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n\(key)Sec-WebSocket-Version: 13\nSec-WebSocket-Protocol: hawker.v1\nContent-Length: 0\n\n"),
        ("a body", "GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n\(key)Sec-WebSocket-Version: 13\nSec-WebSocket-Protocol: hawker.v1\nContent-Length: 2\n\n{}"),
        ("HTTP/1.0", "GET /ws HTTP/1.0\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n\(key)Sec-WebSocket-Version: 13\nSec-WebSocket-Protocol: hawker.v1\n\n"),
        ("no upgrade", "GET /ws HTTP/1.1\nHost: a\nConnection: close\n\n"),
        ("a health check", "GET /healthz HTTP/1.1\nHost: a\nConnection: close\n\n"),
        ("another method", "POST /ws HTTP/1.1\nHost: a\nContent-Length: 2\nConnection: close\n\n{}"),
        ("not HTTP", "HELLO THERE\n\n"),
    ]

    @Test func everyRequestIsAnsweredAsNIOsPipelineAnswersIt() async throws {
        let configure: (inout GatewayConfiguration) -> Void = { $0.allowedOrigins = ["https://shop.example"] }
        let fast = try await TestGateway.start(configure)
        let pipeline = try await TestGateway.start {
            configure(&$0)
            $0.fastUpgrade = false
        }
        var switched = 0
        for (name, request) in Self.requests {
            let viaFast = try await RawHTTP.exchange(port: fast.port, request)
            let viaPipeline = try await RawHTTP.exchange(port: pipeline.port, request)
            if viaPipeline.status == 101 { switched += 1 }
            #expect(viaFast.status == viaPipeline.status, "\(name)")
            #expect(Self.withoutDate(viaFast.head) == Self.withoutDate(viaPipeline.head), "\(name)")
            #expect(viaFast.body == viaPipeline.body, "\(name)")
        }
        // The upgrades did upgrade, with the same accept key.
        let upgraded = try await RawHTTP.exchange(port: fast.port, Self.requests[1].1)
        #expect(upgraded.status == 101)
        #expect(upgraded.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(upgraded.header("Sec-WebSocket-Extensions")?.hasPrefix("permessage-deflate") == true)
        // The three plain upgrades (and the one just now) took the fast path; the pipeline
        // upgraded the unusual ones too (no `Connection: upgrade`, HTTP/1.0, a body).
        // With the fast path off, every upgrade went through the pipeline.
        #expect(switched == 6)
        #expect(Self.upgrades("fast", fast) == 4)
        #expect(Self.upgrades("http", fast) == switched - 3)
        #expect(Self.upgrades("fast", pipeline) == 0)
        #expect(Self.upgrades("http", pipeline) == switched)
        await fast.stop()
        await pipeline.stop()
    }

    /// A client that sends `connect` and `subscribe` in the same write as its upgrade
    /// request is served: the frames after the request go to the session.
    @Test func framesSentWithTheRequestReachTheSession() async throws {
        let server = try await TestGateway.start()
        _ = try await server.catalog("s1", ["p1"])
        let token = try await server.token(.viewer, streams: ["s1"])
        let socket = try FloodSocket(port: server.port)
        let request =
            "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\(Self.key.replacingOccurrences(of: "\n", with: "\r\n"))"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: hawker.v1\r\n\r\n"
        let frames =
            FloodSocket.text(#"{"type":"connect","id":"c","token":"\#(token)"}"#)
            + FloodSocket.text(#"{"type":"subscribe","id":"s","stream":"s1"}"#)
        #expect(socket.send(Array(request.utf8) + frames))
        let received = socket.read(until: "\"subscribed\"")
        #expect(received.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(received.contains("\"welcome\""))
        #expect(received.contains("\"subscribed\""))
        await server.stop()
    }

    /// A request that trickles in and is then handed to the HTTP pipeline (here by a byte
    /// the fast path does not take) is still cut off: the pipeline's request clock takes
    /// over the deadline (HTTPRequestTimeoutHandlerTests checks it is not a fresh one).
    @Test func aTrickleHandedOverIsStillCutOff() async throws {
        let server = try await TestGateway.start { $0.httpRequestTimeout = .milliseconds(600) }
        let slow = try await RawConnection.open(port: server.port)
        try await slow.send("GET /ws HTTP/1.1\r\nHost: a\r\n")
        var sent = 0
        while slow.channel.isActive, sent < 40 {
            // From the sixth line on, each line has a byte only NIO's parser takes.
            try? await slow.send(sent < 5 ? "X-Pad-\(sent): x\r\n" : "X-Pad-\(sent): \u{E9}\r\n")
            sent += 1
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(await slow.closedByServer(within: 10))
        #expect(sent < 40, "the server kept reading headers for \(sent * 100) ms")
        await server.stop()
    }

    private static func upgrades(_ path: String, _ gateway: TestGateway) -> Int {
        let prefix = "hawker_websocket_upgrades_total{path=\"\(path)\"} "
        return gateway.metricsText().split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
    }

    private static func withoutDate(_ head: String) -> String {
        head.split(separator: "\r\n").filter { !$0.lowercased().hasPrefix("date:") }.joined(separator: "\r\n")
    }
}
