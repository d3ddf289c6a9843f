import ArgumentParser
import Foundation
import HawkerAuth
import HawkerClient
import HawkerProtocol
import Histogram
import NIOCore
import NIOPosix

/// N viewers across S streams; a host publishes E events open-loop at a fixed rate; every
/// delivery is counted and timed.
struct Fanout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Fan-out: viewers, one publisher, latency and cost per delivery.")

    @OptionGroup var gateway: GatewayOptions
    @Option(help: "Viewer connections.") var viewers = 1_000
    @Option(help: "Streams the viewers are spread over.") var streams = 1
    @Option(help: "Events to publish in total.") var events = 1_000
    @Option(help: "Events per second (open loop, fixed schedule).") var rate = 200
    @Option(help: "Bytes of text per event.") var payload = 100
    @Option(help: "Concurrent handshakes while connecting viewers.") var connectConcurrency = 64

    func run() async throws {
        let (host, port) = try gateway.endpoint
        let secret = try gateway.signingSecret
        let serverPid = gateway.serverPid
        guard payload >= 24, payload <= 480 else { throw ValidationError("--payload must be 24...480 bytes") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: gateway.threads)
        let issuer = await TokenIssuer(hmacSecret: secret)
        let streamIDs = (0..<streams).map { "load-\($0)" }

        // The host creates the streams.
        let publisher = try await HawkerConnection.open(host: host, port: port, group: group)
        try await publisher.connect(token: try await issuer.issue(subject: "load-host", role: .host, streams: ["*"], ttl: 3_600))
        for stream in streamIDs {
            try await publisher.send(["type": "publish", "id": "start-\(stream)", "stream": .string(stream), "event": ["kind": "stream.started", "data": [:]]])
            _ = try await publisher.receive()
        }

        let stats = DeliveryStats()
        let viewerToken = try await issuer.issue(subject: "load-viewer", role: .viewer, streams: ["*"], ttl: 3_600)
        progress("connecting \(viewers) viewers over \(streams) stream(s)")
        var connections: [HawkerConnection] = []
        connections.reserveCapacity(viewers)
        var next = 0
        while next < viewers {
            let batch = next..<min(viewers, next + connectConcurrency)
            let opened = try await withThrowingTaskGroup(of: HawkerConnection.self) { tasks in
                for index in batch {
                    tasks.addTask {
                        let connection = try await HawkerConnection.open(host: host, port: port, group: group)
                        try await connection.connect(token: viewerToken)
                        try await connection.send(["type": "subscribe", "id": "s", "stream": .string(streamIDs[index % streams])])
                        let reply = try await connection.receive()
                        guard reply["type"] == "subscribed" else { throw ValidationError("subscribe failed: \(reply)") }
                        let counter = ViewerCounter(stats: stats)
                        try await connection.socket.divertText { counter.receive($0) }
                        return connection
                    }
                }
                return try await tasks.reduce(into: []) { $0.append($1) }
            }
            connections += opened
            next = batch.upperBound
        }
        try await publisher.socket.divertText { _ in }
        let before = serverPid.flatMap(ProcessStats.read)

        progress("publishing \(events) events at \(rate)/s, \(payload) B of text each")
        let padding = String(repeating: "x", count: payload - 24)
        let start = NIODeadline.now()
        let interval = 1_000_000_000 / Int64(max(1, rate))
        for index in 0..<events {
            // Open loop: each event has its slot; the latency clock starts at the slot.
            let slot = start + .nanoseconds(Int64(index) * interval)
            let wait = slot - NIODeadline.now()
            if wait > .zero { try await Task.sleep(nanoseconds: UInt64(wait.nanoseconds)) }
            let text = "ts=\(slot.uptimeNanoseconds);\(padding)"
            try await publisher.send(["type": "publish", "id": "\(index)", "stream": .string(streamIDs[index % streams]), "event": ["kind": "announcement", "data": ["text": .string(text)]]])
        }
        let expected = (0..<streams).reduce(0) { total, stream in
            let eventsForStream = events / streams + (stream < events % streams ? 1 : 0)
            let viewersOfStream = viewers / streams + (stream < viewers % streams ? 1 : 0)
            return total + eventsForStream * viewersOfStream
        }
        let deadline = NIODeadline.now() + .seconds(30)
        while stats.snapshot.delivered + stats.snapshot.coalesced < expected, NIODeadline.now() < deadline {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        let after = serverPid.flatMap(ProcessStats.read)
        let result = stats.snapshot
        let seconds = Double(Int64(result.lastDeliveryNanos) - Int64(start.uptimeNanoseconds)) / 1e9
        let report = FanoutReport(
            viewers: viewers, streams: streams, events: events, rate: rate, payloadBytes: payload,
            expected: expected, delivered: result.delivered, coalesced: result.coalesced, reordered: result.reordered,
            seconds: seconds,
            deliveriesPerSecond: Double(result.delivered) / max(seconds, 1e-9),
            latencyMicroseconds: [50, 90, 99, 99.9, 100].map { percentile in
                FanoutReport.Percentile(percentile: percentile, micros: Double(percentile == 100 ? result.latency.maxRecorded : result.latency.valueAtPercentile(percentile)) / 1_000)
            },
            serverCPUMicrosecondsPerDelivery: before.flatMap { before in after.map { ($0.cpuMicroseconds - before.cpuMicroseconds) / Double(max(1, result.delivered)) } },
            serverRSSBytes: after?.residentBytes
        )
        print(report.table)
        try writeResult(report, to: gateway.json)
        for connection in connections { await connection.socket.abort() }
        await publisher.socket.abort()
        try await group.shutdownGracefully()
        if result.delivered + result.coalesced != expected || result.reordered > 0 { throw ExitCode(1) }
    }
}

struct FanoutReport: Codable {
    struct Percentile: Codable {
        var percentile: Double
        var micros: Double
    }

    var viewers: Int
    var streams: Int
    var events: Int
    var rate: Int
    var payloadBytes: Int
    var expected: Int
    var delivered: Int
    var coalesced: Int
    var reordered: Int
    var seconds: Double
    var deliveriesPerSecond: Double
    var latencyMicroseconds: [Percentile]
    var serverCPUMicrosecondsPerDelivery: Double?
    var serverRSSBytes: Int?

    var table: String {
        var lines = [
            "viewers \(viewers), streams \(streams), events \(events) at \(rate)/s, payload \(payloadBytes) B",
            "delivered \(delivered)/\(expected)  coalesced \(coalesced)  lost \(expected - delivered - coalesced)  reordered \(reordered)",
            String(format: "deliveries/s %.0f over %.2f s", deliveriesPerSecond, seconds),
            "latency " + latencyMicroseconds.map { String(format: "p%g %.0f µs", $0.percentile, $0.micros) }.joined(separator: "  ").replacingOccurrences(of: "p100", with: "max"),
        ]
        if let cpu = serverCPUMicrosecondsPerDelivery { lines.append(String(format: "server CPU %.2f µs per delivery", cpu)) }
        if let rss = serverRSSBytes { lines.append("server RSS \(rss / 1024) KiB") }
        return lines.joined(separator: "\n")
    }
}
