import ArgumentParser
import HawkerAuth
import Histogram
import NIOCore
import NIOPosix

/// Viewers connect as fast as the gateway takes them: TCP, WebSocket upgrade, `connect`
/// with a token, `subscribe`, and the snapshot.
struct ConnectStorm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect-storm",
        abstract: "Connect storm: handshakes/s and each viewer's time to its snapshot."
    )

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var fleet: FleetOptions
    @Option(help: "Viewer connections to open.") var viewers = 10_000
    @Option(help: "Streams the viewers are spread over.") var streams = 1

    func run() async throws {
        let (host, port) = try gateway.endpoint
        let group = MultiThreadedEventLoopGroup(numberOfThreads: gateway.threads)
        let issuer = await TokenIssuer(hmacSecret: try gateway.signingSecret)
        let streamIDs = (0..<streams).map { "load-\($0)" }
        var result = LoadResult(scenario: "connect-storm")
        result.parameter("viewers", "viewers", Double(viewers))
        result.parameter("streams", "streams", Double(streams))
        result.parameter("concurrency", "handshakes in flight per process", Double(fleet.connectConcurrency))

        // A snapshot worth sending: a live stream with a pinned product.
        let publisher = try await Publisher.open(host: host, port: port, group: group, issuer: issuer)
        try await publisher.start(streamIDs)
        let plan = ViewerPool.Plan(host: host, port: port, tokens: ViewerTokens(secret: try gateway.signingSecret), streams: streamIDs, count: viewers)
        progress("opening \(viewers) connections from \(fleet.processCount(viewers: viewers)) process(es), \(fleet.connectConcurrency) at a time each")
        let before = gateway.serverStats()
        let (fleet, connect) = try await ViewerFleet.connect(plan, options: fleet, threads: gateway.threads, group: group)
        let after = gateway.serverStats()
        _ = try await fleet.finish()
        await publisher.close()
        try await group.shutdownGracefully()

        result.figure("handshakes_per_second", "handshakes/s (to snapshot)", Double(connect.connected) / max(connect.seconds, 1e-9), unit: "/s", .higherIsBetter)
        result.figure("connected", "connected", Double(connect.connected), unit: "", .higherIsBetter)
        result.figure("failed", "failed", Double(connect.failed), unit: "", .lowerIsBetter)
        result.figure("seconds", "all connected in", connect.seconds, unit: "s", .lowerIsBetter)
        if let before, let after {
            result.figure("server_cpu_us_per_handshake", "server CPU per connection", (after.cpuMicroseconds - before.cpuMicroseconds) / Double(max(1, connect.connected)), unit: "µs", .lowerIsBetter)
        }
        result.latency = LoadResult.Latency(label: "TCP connect to snapshot", histogram: connect.timeToSnapshot)
        for (name, value) in [("p50", 50.0), ("p99", 99.0)] {
            result.figure("time_to_snapshot_\(name)_ms", "time to snapshot \(name)", Double(connect.timeToSnapshot.valueAtPercentile(value)) / 1e6, unit: "ms", .lowerIsBetter)
        }
        if connect.failed > 0 { result.failures.append("\(connect.failed) connections failed: \(connect.firstError ?? "")") }
        try finish(result, json: gateway.json)
    }
}
