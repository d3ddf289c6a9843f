import ArgumentParser
import Foundation
import HawkerAuth
import HawkerClient
import NIOCore
import NIOPosix

/// C buyers, all connected first, check out at the same moment on a flash sale of U
/// units: exactly U must be accepted and the rest sold out; how long the answers take.
struct FlashSale: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flash-sale",
        abstract: "Flash sale: C buyers check out at once on U units; accepted count and ack latency."
    )

    @OptionGroup var gateway: GatewayOptions
    @Option(help: "Buyer connections, one checkout each.") var buyers = 10_000
    @Option(help: "Units on sale.") var units: Int64 = 100

    func run() async throws {
        let (host, port) = try gateway.endpoint
        let group = MultiThreadedEventLoopGroup(numberOfThreads: gateway.threads)
        let issuer = await TokenIssuer(hmacSecret: try gateway.signingSecret)
        let hostConnection = try await CheckoutLoad.openSale(units: units, host: host, port: port, group: group, issuer: issuer)
        let replies = CheckoutReplies()
        progress("connecting \(buyers) buyers")
        let connected = try await CheckoutLoad.connectBuyers(buyers, host: host, port: port, group: group, issuer: issuer, replies: replies)
        let before = gateway.serverPid.flatMap(ProcessStats.read)
        progress("all connected; \(buyers) checkouts at once on \(units) units")
        let start = NIODeadline.now()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for buyer in connected { tasks.addTask { try await buyer.checkout(0) } }
            try await tasks.waitForAll()
        }
        try await replies.waitForAnswers(buyers, seconds: 60)
        let seconds = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        let after = gateway.serverPid.flatMap(ProcessStats.read)
        let counts = replies.snapshot
        let report = FlashSaleReport(
            buyers: buyers, units: units, accepted: counts.accepted, soldOut: counts.soldOut, other: counts.other,
            unanswered: buyers - counts.answered, seconds: seconds, ackLatency: LatencySummary(counts.latency),
            serverCPUMilliseconds: before.flatMap { before in after.map { ($0.cpuMicroseconds - before.cpuMicroseconds) / 1_000 } }
        )
        print(report.table)
        try writeResult(report, to: gateway.json)
        for buyer in connected { await buyer.connection.socket.abort() }
        await hostConnection.socket.abort()
        try await group.shutdownGracefully()
        if report.accepted != Int(min(Int64(buyers), units)) || report.unanswered > 0 {
            throw ValidationError("expected \(min(Int64(buyers), units)) accepted and every checkout answered")
        }
    }
}

struct FlashSaleReport: Codable {
    var buyers: Int
    var units: Int64
    var accepted: Int
    var soldOut: Int
    var other: [String: Int]
    var unanswered: Int
    var seconds: Double
    var ackLatency: LatencySummary
    var serverCPUMilliseconds: Double?

    var table: String {
        var lines = [
            "\(buyers) buyers on \(units) units: accepted \(accepted), sold_out \(soldOut), other \(other), unanswered \(unanswered)",
            "all answered in \(String(format: "%.3f", seconds)) s; checkout ack latency \(ackLatency.text)",
        ]
        if let cpu = serverCPUMilliseconds { lines.append(String(format: "server CPU %.0f ms for the storm", cpu)) }
        return lines.joined(separator: "\n")
    }
}
