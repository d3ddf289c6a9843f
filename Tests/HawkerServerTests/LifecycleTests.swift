import Foundation
import HawkerAuth
import HawkerClient
import HawkerProtocol
import HawkerServer
import HawkerWebSocket
import NIOCore
import Testing

/// Graceful shutdown and slow viewers.
@Suite struct LifecycleTests {
    @Test func shutdownClosesViewersWith1001AndFailsReadiness() async throws {
        let server = try await TestGateway.start()
        let viewer = try await server.client(.viewer, streams: ["x"])
        let port = server.port
        async let stopped: Void = server.stop()
        #expect(try await viewer.closeCode() == 1001)
        await stopped
        await #expect(throws: (any Error).self) {
            _ = try await HTTP.request("GET", port: port, path: "/healthz")
        }
    }

    /// With `drain_grace_ms`, a shutting-down gateway still answers for a while:
    /// `/readyz` with 503 and an upgrade with 503 `draining`, so a load balancer sees it
    /// go; then it closes.
    @Test func theDrainGraceAnswersReadinessWith503BeforeTheListenerCloses() async throws {
        let server = try await TestGateway.start { $0.drainGraceMilliseconds = 60_000 }
        let port = server.port
        #expect(try await HTTP.request("GET", port: port, path: "/readyz").status == 200)
        let stopping = Task { await server.stop() }
        // Draining starts at once; the grace is a minute, far past this loop.
        var readiness = 200
        for _ in 0..<500 where readiness == 200 {
            // Draining closes idle keep-alive connections: a request on one is reset and
            // goes again on a new one.
            readiness = (try? await HTTP.request("GET", port: port, path: "/readyz").status) ?? 200
            if readiness == 200 { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(readiness == 503)
        let upgrade = try await HTTP.request(
            "GET", port: port, path: "/ws",
            headers: ["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "hawker.v1"])
        #expect(upgrade.status == 503 && upgrade.body.contains("draining"), "\(upgrade.status) \(upgrade.body)")
        stopping.cancel()
        await stopping.value
    }

    /// Publishes 480-byte announcements (one state key) until `metric` shows up, while
    /// `fast` keeps reading every one. Rounds of 10 (5 KB, under the 16 KB high-water
    /// mark) read before the next, so that the fast viewer never backs up however slowly
    /// this machine runs it. Bounded, not timed.
    private func publishUntil(_ metric: String, server: TestGateway, stream: String, fast: TestClient) async throws -> Int {
        let text = String(repeating: "x", count: 480)
        var published = 0
        while !server.metricsText().contains(metric), published < 40_000 {
            for _ in 0..<10 {
                _ = try await server.publish(stream, "announcement", ["text": .string(text)])
                published += 1
            }
            // The fast viewer keeps reading everything, in order.
            for _ in 0..<10 {
                #expect(try await fast.receive()["type"] == "event")
            }
        }
        return published
    }

    private func subscribe(_ clients: [TestClient], to stream: String) async throws {
        for client in clients {
            try await client.send(["type": "subscribe", "id": "s", "stream": .string(stream)])
            #expect(try await client.receive()["type"] == "subscribed")
        }
    }

    @Test func aViewerStuckPastTheTimeoutIsClosedWith4001WhileOthersKeepUp() async throws {
        let server = try await TestGateway.start {
            $0.outboundHighWaterBytes = 16 * 1024
            $0.slowConsumerTimeout = .milliseconds(300)
            // The close frame waits behind megabytes the stuck viewer has not read: room to
            // read them all before the socket would be cut.
            $0.webSocket.closeTimeout = .seconds(120)
        }
        _ = try await server.publish("busy", "stream.started", [:])
        let slow = try await server.client(.viewer, streams: ["busy"], sub: "slow")
        let fast = try await server.client(.viewer, streams: ["busy"], sub: "fast")
        try await subscribe([slow, fast], to: "busy")
        try await slow.socket.channel.setOption(ChannelOptions.autoRead, value: false).get()

        _ = try await publishUntil("hawker_slow_consumer_closes_total 1", server: server, stream: "busy", fast: fast)
        #expect(server.metricsText().contains("hawker_slow_consumer_closes_total 1"))
        try await slow.socket.channel.setOption(ChannelOptions.autoRead, value: true).get()
        #expect(try await slow.closeCode() == 4001)
        await fast.close()
        await server.stop()
    }

    /// A backed-up viewer is sent nothing while stuck; once it reads again it gets a `gap`
    /// notice and only the latest event per state key, and is up to date.
    @Test func aViewerThatCatchesUpGetsAGapNoticeAndTheLatestState() async throws {
        let server = try await TestGateway.start {
            $0.outboundHighWaterBytes = 16 * 1024
            $0.slowConsumerTimeout = .seconds(600)
        }
        try await server.catalog("catch-up", ["p1"])
        let slow = try await server.client(.viewer, streams: ["catch-up"], sub: "slow")
        let fast = try await server.client(.viewer, streams: ["catch-up"], sub: "fast")
        try await subscribe([slow, fast], to: "catch-up")
        try await slow.socket.channel.setOption(ChannelOptions.autoRead, value: false).get()

        // Until an announcement for the stuck viewer was superseded by a later one.
        _ = try await publishUntil("hawker_coalesced_frames_total 1", server: server, stream: "catch-up", fast: fast)
        var last: PublishReceipt?
        for level in [9, 8, 7] as [Int64] {
            last = try await server.publish("catch-up", "stock.changed", ["product": "p1", "level": .int(level)])
        }
        let final = try #require(last)
        for _ in 0..<3 { #expect(try await fast.receive()["type"] == "event") }
        try await slow.socket.channel.setOption(ChannelOptions.autoRead, value: true).get()

        // The socket may fill and drain several times; each time the viewer catches up
        // it gets a notice, then at most one frame per state key, in seq order.
        var gaps = 0
        var coalesced: Int64 = 0
        var events = 0
        var lastSeq: Int64 = 0
        var lastLevel: JSONValue?
        while lastSeq != Int64(final.position.seq) {
            let message = try await slow.receive()
            if message["type"] == "gap" {
                gaps += 1
                coalesced += message["coalesced"]?.intValue ?? 0
                #expect(message["stream"] == "catch-up")
                continue
            }
            #expect(message["type"] == "event")
            let seq = try #require(message["seq"]?.intValue)
            #expect(seq > lastSeq)
            lastSeq = seq
            events += 1
            if message["kind"] == "stock.changed" { lastLevel = message["data"]?["level"] }
        }
        #expect(gaps >= 1)
        #expect(coalesced > 0)
        #expect(Int64(events) < Int64(final.position.seq) - 1)
        #expect(Int64(events) + coalesced >= Int64(final.position.seq) - 1)
        #expect(lastLevel == 7)
        #expect(!server.metricsText().contains("hawker_slow_consumer_closes_total 1"))
        await slow.close()
        await fast.close()
        await server.stop()
    }
}
