import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// What a worker process tells its coordinator, one JSON object per line on stdout.
enum WorkerMessage: Codable, Sendable {
    case connected(ConnectStats)
    case progress(delivered: Int, coalesced: Int, closed: Int)
    case result(WorkerResult)
}

struct WorkerResult: Codable, Sendable {
    var deliveries: DeliveryStats.Snapshot
    var closedByServer: Int
    var slow: Int
}

/// `hawker-load viewers`: a worker process started by a scenario's coordinator to hold
/// part of the viewers (one process has at most ~20,000 open files here). It connects its
/// share, reports, counts deliveries, and answers commands read from stdin: `pause` (the
/// slow share stops reading) and `finish` (report and exit).
struct ViewerWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "viewers",
        abstract: "Worker process holding part of a scenario's viewers (started by the coordinator).",
        shouldDisplay: false
    )

    @Option var host: String
    @Option var port: Int
    /// Cluster mode: the nodes' ports, viewer i on the (i mod n)-th.
    @Option var ports: String?
    @Option var streamPrefix: String
    @Option var streamCount: Int
    @Option var firstIndex: Int
    @Option var count: Int
    @Option var connectConcurrency: Int
    @Option var slowEvery = 0
    @Option var sourceAddress: String?
    @Option var threads = 1

    func run() async throws {
        guard let secret = ProcessInfo.processInfo.environment["HAWKER_LOAD_SECRET"] else {
            throw ValidationError("HAWKER_LOAD_SECRET is not set (the coordinator passes the secret the viewers' tokens are signed with)")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let plan = ViewerPool.Plan(
            host: host, port: port, ports: (ports ?? "").split(separator: ",").compactMap { Int($0) }, tokens: ViewerTokens(secret: secret),
            streams: (0..<streamCount).map { "\(streamPrefix)\($0)" },
            firstIndex: firstIndex, count: count, connectConcurrency: connectConcurrency,
            sourceAddress: try sourceAddress.map { try SocketAddress(ipAddress: $0, port: 0) },
            slowEvery: slowEvery
        )
        let pool = ViewerPool(plan: plan, group: group)
        Self.emit(.connected(await pool.connect()))
        let reporter = Task {
            while !Task.isCancelled {
                let (delivered, coalesced) = pool.stats.counts
                Self.emit(.progress(delivered: delivered, coalesced: coalesced, closed: pool.closedCount))
                try await Task.sleep(nanoseconds: 200_000_000)
            }
        }
        // Commands arrive on stdin, one per line, read on a thread of their own so that no
        // concurrency thread blocks; end of input means the coordinator is gone.
        let (commands, continuation) = AsyncStream.makeStream(of: String.self)
        Thread {
            while let line = readLine() { continuation.yield(line) }
            continuation.finish()
        }.start()
        for await line in commands {
            if line == "pause" { await pool.pause() }
            if line == "finish" { break }
        }
        reporter.cancel()
        Self.emit(.result(WorkerResult(deliveries: pool.stats.snapshot, closedByServer: pool.closedCount, slow: pool.slowCount)))
        await pool.closeAll()
        try await group.shutdownGracefully()
    }

    private static let output = NSLock()

    static func emit(_ message: WorkerMessage) {
        guard let data = try? JSONEncoder().encode(message) else { return }
        output.withLock {
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        }
    }
}
