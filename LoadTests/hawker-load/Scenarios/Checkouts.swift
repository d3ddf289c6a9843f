import ArgumentParser
import Foundation
import HawkerAuth
import HawkerClient
import Histogram
import NIOCore
import NIOPosix

/// Durable checkouts per second: buyers check out at a fixed total rate (open loop) on
/// a stock that does not run out; every accepted checkout is committed to the outbox
/// before its answer, so this is the rate of durable checkouts and their ack latency,
/// with how many checkouts shared each commit (group commit).
struct Checkouts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Durable checkouts/s: accepted rate, ack latency, checkouts per commit.")

    @OptionGroup var gateway: GatewayOptions
    @Option(help: "Buyer connections.") var buyers = 200
    @Option(help: "Checkouts per second offered, over all buyers (open loop).") var rate = 5_000
    @Option(help: "Seconds to send for.") var duration = 10

    func run() async throws {
        let (host, port) = try gateway.endpoint
        let group = MultiThreadedEventLoopGroup(numberOfThreads: gateway.threads)
        let issuer = await TokenIssuer(hmacSecret: try gateway.signingSecret)
        let hostConnection = try await CheckoutLoad.openSale(units: 1_000_000_000, host: host, port: port, group: group, issuer: issuer)
        let replies = CheckoutReplies()
        progress("connecting \(buyers) buyers")
        let connected = try await CheckoutLoad.connectBuyers(buyers, host: host, port: port, group: group, issuer: issuer, replies: replies)
        // The gateway updates its outbox counters once a second.
        let metricsBefore = try await CheckoutLoad.metrics(host: host, port: port, issuer: issuer)
        let before = gateway.serverStats()
        let perBuyer = max(1, rate / buyers)
        let total = perBuyer * buyers * duration
        progress("offering \(perBuyer * buyers) checkouts/s for \(duration) s")
        let start = NIODeadline.now()
        let duration = self.duration
        let buyerCount = connected.count
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for buyer in connected {
                tasks.addTask {
                    let interval = 1_000_000_000 / Int64(perBuyer)
                    let offset = Int64(buyer.index) * interval / Int64(buyerCount)
                    for n in 0..<(perBuyer * duration) {
                        let wait = start + .nanoseconds(offset + Int64(n) * interval) - NIODeadline.now()
                        if wait > .zero { try await Task.sleep(nanoseconds: UInt64(wait.nanoseconds)) }
                        try await buyer.checkout(n)
                    }
                }
            }
            try await tasks.waitForAll()
        }
        try await replies.waitForAnswers(total, seconds: 30)
        let seconds = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        let after = gateway.serverStats()
        try await Task.sleep(nanoseconds: 1_500_000_000)
        let metricsAfter = try await CheckoutLoad.metrics(host: host, port: port, issuer: issuer)
        let counts = replies.snapshot
        let delta = { (name: String) in (metricsAfter[name] ?? 0) - (metricsBefore[name] ?? 0) }
        let commits = delta("hawker_outbox_commits_total")
        let writes = delta("hawker_outbox_writes_total")
        var result = LoadResult(scenario: "checkouts")
        result.parameter("buyers", "buyers", Double(buyers))
        result.parameter("rate", "offered checkouts/s", Double(perBuyer * buyers))
        result.parameter("duration", "duration", Double(duration), unit: "s")
        result.figure("accepted_per_second", "accepted checkouts/s", Double(counts.accepted) / seconds, unit: "/s", .higherIsBetter)
        result.figure("accepted", "accepted", Double(counts.accepted), unit: "", .higherIsBetter)
        result.figure("refused", "refused", Double(counts.answered - counts.accepted), unit: "", .lowerIsBetter)
        result.figure("unanswered", "unanswered", Double(total - counts.answered), unit: "", .lowerIsBetter)
        result.figure("ack_p50_ms", "ack p50", Double(counts.latency.valueAtPercentile(50)) / 1e6, unit: "ms", .lowerIsBetter)
        result.figure("ack_p99_ms", "ack p99", Double(counts.latency.valueAtPercentile(99)) / 1e6, unit: "ms", .lowerIsBetter)
        result.figure("writes_per_commit", "outbox writes per commit", commits > 0 ? writes / commits : nil, unit: "", .higherIsBetter)
        result.figure("outbox_commits", "outbox commits", commits, unit: "", .neutral)
        result.figure(
            "server_cpu_us_per_checkout", "server CPU per accepted checkout",
            before.flatMap { before in after.map { ($0.cpuMicroseconds - before.cpuMicroseconds) / Double(max(1, counts.accepted)) } }, unit: "µs", .lowerIsBetter)
        result.latency = LoadResult.Latency(label: "checkout to answer", histogram: counts.latency)
        if total - counts.answered > 0 { result.failures.append("\(total - counts.answered) checkouts unanswered") }
        for buyer in connected { await buyer.connection.socket.abort() }
        await CheckoutLoad.closeSale(hostConnection)
        await hostConnection.socket.abort()
        try await group.shutdownGracefully()
        try finish(result, json: gateway.json)
    }
}
