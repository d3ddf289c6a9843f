import ArgumentParser
import Foundation
import HawkerRedis
import Logging
import NIOPosix

/// Fan-out over a cluster: the publisher on the first node (`--url`), the viewers spread
/// over every node (`--ports`), so that most deliveries cross nodes through Redis. Run it
/// once with one node and once with three, the same viewers in all: latency, CPU of all
/// the nodes per delivery, and Redis's commands and bytes per event.
struct Cluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cluster fan-out: viewers spread over nodes, one publisher; cross-node latency, CPU per delivery, Redis commands and bytes per event.")

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var fleet: FleetOptions
    @Option(help: "The nodes' ports on --url's host, comma-separated (viewer i on the (i mod n)-th); default: --url's.") var ports: String?
    @Option(help: "The nodes' process ids, comma-separated: their CPU time is summed.") var serverPids: String?
    @Option(help: "The cluster's Redis (redis://host:port), for its commands and bytes per event.") var redisUrl: String?
    @Option(help: "Viewer connections.") var viewers = 3_000
    @Option(help: "Streams the viewers are spread over.") var streams = 1
    @Option(help: "Events to publish and measure.") var events = 1_000
    @Option(help: "Events per second (open loop, fixed schedule).") var rate = 20
    @Option(help: "Bytes of text per event (48...500).") var payload = 100
    @Option(help: "Events published first and checked, but not measured.") var warmup = 50

    func run() async throws {
        let nodePorts = (ports ?? "").split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let pids = (serverPids ?? "").split(separator: ",").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
        let redis = try redisUrl.map { url -> RedisClient in
            var logger = Logger(label: "hawker-load-redis")
            logger.logLevel = .warning
            return RedisClient(configuration: try RedisConfiguration(url: url), eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
        }
        let connection = redis.map { redis in Task { try? await redis.run() } }
        defer { connection?.cancel() }
        if let redis {
            for _ in 0..<500 where !redis.isAvailable { try await Task.sleep(for: .milliseconds(10)) }
        }
        var run = FanoutRun(
            gateway: gateway, fleet: fleet, scenario: "cluster", viewers: viewers, streams: streams, events: events, rate: rate, payload: payload, warmup: warmup)
        run.viewerPorts = nodePorts
        run.serverPids = pids
        if let redis { run.sideCounters = { await Self.counters(of: redis) } }
        var result = try await run.run()
        result.parameter("nodes", "nodes", Double(max(1, nodePorts.count)))
        try finish(result, json: gateway.json)
    }

    /// Redis's totals from `INFO stats`: commands run, bytes in and out.
    private static func counters(of redis: RedisClient) async -> [String: Double] {
        guard let reply = try? await redis.send(RedisCommand("INFO", ["stats"])), let text = reply.string else { return [:] }
        var counters: [String: Double] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let value = Double(parts[1].trimmingCharacters(in: .whitespaces)) else { continue }
            switch parts[0] {
            case "total_commands_processed": counters["redis_commands"] = value
            case "total_net_input_bytes": counters["redis_bytes_in"] = value
            case "total_net_output_bytes": counters["redis_bytes_out"] = value
            default: break
            }
        }
        return counters
    }
}
