import Foundation
import HawkerAuth
import HawkerClient
import HawkerProtocol
import HawkerServer
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

    @Test func aViewerThatStopsReadingIsClosedWith4001WhileOthersKeepUp() async throws {
        let server = try await TestGateway.start {
            $0.outboundHighWaterBytes = 16 * 1024
            $0.slowConsumerCapBytes = 64 * 1024
        }
        _ = try await server.publish("busy", "stream.started", [:])
        let slow = try await server.client(.viewer, streams: ["busy"], sub: "slow")
        let fast = try await server.client(.viewer, streams: ["busy"], sub: "fast")
        for client in [slow, fast] {
            try await client.send(["type": "subscribe", "id": "s", "stream": "busy"])
            #expect(try await client.receive()["type"] == "subscribed")
        }
        try await slow.socket.channel.setOption(ChannelOptions.autoRead, value: false).get()

        let text = String(repeating: "x", count: 480)
        var published = 0
        // Bounded: with a 64 KiB cap the slow viewer is cut off long before this ends.
        while !server.metricsText().contains("hawker_slow_consumer_closes_total 1"), published < 20_000 {
            for _ in 0..<100 {
                _ = try await server.publish("busy", "announcement", ["text": .string(text)])
                published += 1
            }
            // The fast viewer keeps reading everything, in order.
            for _ in 0..<100 {
                #expect(try await fast.receive()["type"] == "event")
            }
        }
        #expect(server.metricsText().contains("hawker_slow_consumer_closes_total 1"))
        try await slow.socket.channel.setOption(ChannelOptions.autoRead, value: true).get()
        #expect(try await slow.closeCode() == 4001)
        await fast.close()
        await server.stop()
    }
}
