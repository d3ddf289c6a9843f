import ArgumentParser
import Foundation
import HawkerAuth
import HawkerClient
import Histogram
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
        let before = gateway.serverStats()
        progress("all connected; \(buyers) checkouts at once on \(units) units")
        let start = NIODeadline.now()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for buyer in connected { tasks.addTask { try await buyer.checkout(0) } }
            try await tasks.waitForAll()
        }
        try await replies.waitForAnswers(buyers, seconds: 60)
        let seconds = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        let after = gateway.serverStats()
        let counts = replies.snapshot
        var result = LoadResult(scenario: "flash-sale")
        result.parameter("buyers", "buyers", Double(buyers))
        result.parameter("units", "units", Double(units))
        let expectedAccepted = Int(min(Int64(buyers), units))
        let unanswered = buyers - counts.answered
        result.figure("accepted", "accepted", Double(counts.accepted), unit: "", .neutral)
        result.figure("sold_out", "sold_out", Double(counts.soldOut), unit: "", .neutral)
        result.figure("other_refusals", "other refusals", Double(counts.other.values.reduce(0, +)), unit: "", .lowerIsBetter)
        result.figure("unanswered", "unanswered", Double(unanswered), unit: "", .lowerIsBetter)
        result.figure("seconds", "all answered in", seconds, unit: "s", .lowerIsBetter)
        result.figure("ack_p50_ms", "ack p50", Double(counts.latency.valueAtPercentile(50)) / 1e6, unit: "ms", .lowerIsBetter)
        result.figure("ack_p99_ms", "ack p99", Double(counts.latency.valueAtPercentile(99)) / 1e6, unit: "ms", .lowerIsBetter)
        result.figure(
            "server_cpu_us_per_checkout", "server CPU per checkout", before.flatMap { before in after.map { ($0.cpuMicroseconds - before.cpuMicroseconds) / Double(max(1, buyers)) } }, unit: "µs",
            .lowerIsBetter)
        result.latency = LoadResult.Latency(label: "checkout to answer", histogram: counts.latency)
        if counts.accepted != expectedAccepted { result.failures.append("\(counts.accepted) accepted, expected exactly \(expectedAccepted)") }
        if unanswered > 0 { result.failures.append("\(unanswered) checkouts unanswered") }
        if !counts.other.isEmpty { result.failures.append("unexpected answers: \(counts.other)") }
        for buyer in connected { await buyer.connection.socket.abort() }
        await CheckoutLoad.closeSale(hostConnection)
        await hostConnection.socket.abort()
        try await group.shutdownGracefully()
        try finish(result, json: gateway.json)
    }
}
