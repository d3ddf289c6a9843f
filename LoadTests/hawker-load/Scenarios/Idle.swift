import ArgumentParser
import HawkerAuth
import NIOCore
import NIOPosix

/// N viewers connect, subscribe and then stay quiet: the gateway's memory per connection.
struct Idle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Idle: hold N subscribed viewers; server RSS per connection.")

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var fleet: FleetOptions
    @Option(help: "Viewer connections.") var viewers = 10_000
    @Option(help: "Streams the viewers are spread over.") var streams = 1
    @Option(help: "Seconds to hold the connections after the last one subscribed.") var hold = 10

    func run() async throws {
        guard gateway.serverPid != nil else { throw ValidationError("idle measures the gateway's memory: pass --server-pid") }
        let (host, port) = try gateway.endpoint
        let group = MultiThreadedEventLoopGroup(numberOfThreads: gateway.threads)
        let issuer = await TokenIssuer(hmacSecret: try gateway.signingSecret)
        let streamIDs = (0..<streams).map { "load-\($0)" }
        var result = LoadResult(scenario: "idle")
        result.parameter("viewers", "viewers", Double(viewers))
        result.parameter("streams", "streams", Double(streams))
        result.parameter("hold", "hold", Double(hold), unit: "s")

        let publisher = try await Publisher.open(host: host, port: port, group: group, issuer: issuer)
        try await publisher.start(streamIDs)
        try await Task.sleep(nanoseconds: 1_000_000_000)
        let before = gateway.serverStats()
        let plan = ViewerPool.Plan(host: host, port: port, tokens: ViewerTokens(secret: try gateway.signingSecret), streams: streamIDs, count: viewers)
        progress("connecting \(viewers) viewers from \(fleet.processCount(viewers: viewers)) process(es)")
        let (fleet, connect) = try await ViewerFleet.connect(plan, options: fleet, threads: gateway.threads, group: group)
        // Let the handshakes' garbage go and presence settle before reading RSS.
        try await Task.sleep(nanoseconds: 2_000_000_000)
        let settled = gateway.serverStats()
        let line = ProgressLine { [fleet] in "holding \(connect.connected) connections, \(fleet.counts.closed) closed" }
        try await Task.sleep(nanoseconds: UInt64(hold) * 1_000_000_000)
        await line.stop()
        let held = gateway.serverStats()
        let closed = fleet.counts.closed
        _ = try await fleet.finish()
        await publisher.close()
        try await group.shutdownGracefully()

        let perConnection = { (stats: ProcessStats?) -> Double? in
            guard let before, let stats, connect.connected > 0 else { return nil }
            return Double(stats.residentBytes - before.residentBytes) / Double(connect.connected) / 1024
        }
        result.figure("connected", "connected", Double(connect.connected), unit: "", .higherIsBetter)
        result.figure("rss_kib_per_connection", "server RSS per idle connection", perConnection(held), unit: "KiB", .lowerIsBetter)
        result.figure("rss_kib_per_connection_settled", "server RSS per connection, 2 s after connecting", perConnection(settled), unit: "KiB", .lowerIsBetter)
        result.figure("server_rss_kib_before", "server RSS before", before.map { Double($0.residentBytes) / 1024 }, unit: "KiB", .neutral)
        result.figure("server_rss_kib", "server RSS holding them", held.map { Double($0.residentBytes) / 1024 }, unit: "KiB", .lowerIsBetter)
        if let before, let held {
            result.figure("server_cpu_ms_while_idle", "server CPU while holding them", (held.cpuMicroseconds - (settled ?? before).cpuMicroseconds) / 1_000, unit: "ms", .lowerIsBetter)
        }
        if connect.failed > 0 { result.failures.append("\(connect.failed) viewers could not connect: \(connect.firstError ?? "")") }
        if closed > 0 { result.failures.append("\(closed) idle viewers were closed") }
        try finish(result, json: gateway.json)
    }
}
