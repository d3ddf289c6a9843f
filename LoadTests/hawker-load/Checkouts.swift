import ArgumentParser
import Foundation
import HawkerAuth
import HawkerClient
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
        let metricsBefore = await CheckoutLoad.metrics(host: host, port: port)
        let before = gateway.serverPid.flatMap(ProcessStats.read)
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
        let after = gateway.serverPid.flatMap(ProcessStats.read)
        try await Task.sleep(nanoseconds: 1_500_000_000)
        let metricsAfter = await CheckoutLoad.metrics(host: host, port: port)
        let counts = replies.snapshot
        let delta = { (name: String) in (metricsAfter[name] ?? 0) - (metricsBefore[name] ?? 0) }
        let commits = delta("hawker_outbox_commits_total")
        let writes = delta("hawker_outbox_writes_total")
        let report = CheckoutsReport(
            buyers: buyers, offered: total, seconds: seconds, accepted: counts.accepted, refused: counts.answered - counts.accepted,
            unanswered: total - counts.answered, acceptedPerSecond: Double(counts.accepted) / seconds,
            ackLatency: LatencySummary(counts.latency), outboxCommits: commits, outboxWrites: writes,
            writesPerCommit: commits > 0 ? writes / commits : nil,
            serverCPUMicrosecondsPerCheckout: before.flatMap { before in after.map { ($0.cpuMicroseconds - before.cpuMicroseconds) / Double(max(1, counts.accepted)) } }
        )
        print(report.table)
        try writeResult(report, to: gateway.json)
        for buyer in connected { await buyer.connection.socket.abort() }
        await hostConnection.socket.abort()
        try await group.shutdownGracefully()
    }
}

struct CheckoutsReport: Codable {
    var buyers: Int
    var offered: Int
    var seconds: Double
    var accepted: Int
    var refused: Int
    var unanswered: Int
    var acceptedPerSecond: Double
    var ackLatency: LatencySummary
    /// Outbox transactions and the writes in them (checkouts, and the relay's records).
    var outboxCommits: Double
    var outboxWrites: Double
    var writesPerCommit: Double?
    var serverCPUMicrosecondsPerCheckout: Double?

    var table: String {
        var lines = [
            "\(buyers) buyers, offered \(offered) checkouts over \(String(format: "%.2f", seconds)) s",
            "accepted \(accepted) (\(String(format: "%.0f", acceptedPerSecond))/s)  refused \(refused)  unanswered \(unanswered)",
            "checkout ack latency \(ackLatency.text)",
            String(format: "outbox: %.0f commits for %.0f writes (%.1f per commit)", outboxCommits, outboxWrites, writesPerCommit ?? 0),
        ]
        if let cpu = serverCPUMicrosecondsPerCheckout { lines.append(String(format: "server CPU %.1f µs per accepted checkout", cpu)) }
        return lines.joined(separator: "\n")
    }
}
