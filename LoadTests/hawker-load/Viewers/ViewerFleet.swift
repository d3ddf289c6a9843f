import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// How many generator processes hold the viewers, and where they connect from.
struct FleetOptions: ParsableArguments {
    @Option(help: "Generator processes holding the viewers (0: one per 15,000 viewers; 1: this process).")
    var processes = 0
    @Option(help: "Concurrent handshakes per process while connecting viewers.")
    var connectConcurrency = 256
    @Option(
        help:
            "First source address of the worker processes, when the gateway is on loopback (worker i uses the i-th address after it; default: a random 127.x.y.2, so that one run's TIME_WAIT sockets do not meet the next run's connections)."
    )
    var sourceAddressBase: String?

    /// 127.0.0.0/8 is all loopback on Linux: a fresh block per run.
    var resolvedSourceAddressBase: String {
        sourceAddressBase ?? "127.\(Int.random(in: 1...254)).\(Int.random(in: 0...255)).2"
    }

    func processCount(viewers: Int) -> Int {
        processes > 0 ? processes : max(1, (viewers + 14_999) / 15_000)
    }
}

/// The viewers of a scenario: in this process, or spread over worker processes (each with
/// its own 127.x.y.z source address), seen by the scenario as one group.
final class ViewerFleet: Sendable {
    private enum Member: Sendable {
        case local(ViewerPool)
        case worker(WorkerProcess)
    }

    private let members: [Member]

    private init(members: [Member]) {
        self.members = members
    }

    /// Starts the viewers and returns once every one has its snapshot (or failed).
    static func connect(_ plan: ViewerPool.Plan, options: FleetOptions, threads: Int, group: any EventLoopGroup) async throws -> (ViewerFleet, ConnectStats) {
        let processes = options.processCount(viewers: plan.count)
        var plan = plan
        plan.connectConcurrency = options.connectConcurrency
        if processes == 1 {
            let pool = ViewerPool(plan: plan, group: group)
            return (ViewerFleet(members: [.local(pool)]), await pool.connect())
        }
        let loopback = plan.host == "127.0.0.1" || plan.host == "localhost"
        let base = try IPv4(options.resolvedSourceAddressBase)
        var workers: [WorkerProcess] = []
        for index in 0..<processes {
            let first = plan.count * index / processes
            let last = plan.count * (index + 1) / processes
            var arguments = [
                "viewers", "--host", plan.host, "--port", "\(plan.port)",
                "--stream-prefix", plan.streamPrefix, "--stream-count", "\(plan.streams.count)",
                "--first-index", "\(plan.firstIndex + first)", "--count", "\(last - first)",
                "--connect-concurrency", "\(plan.connectConcurrency)", "--slow-every", "\(plan.slowEvery)",
                "--threads", "\(threads)",
            ]
            if loopback { arguments += ["--source-address", base.advanced(by: index).description] }
            if !plan.ports.isEmpty { arguments += ["--ports", plan.ports.map(String.init).joined(separator: ",")] }
            workers.append(try WorkerProcess(arguments: arguments, secret: plan.tokens.secret))
        }
        var total = ConnectStats()
        for worker in workers { total.merge(try await worker.connected()) }
        return (ViewerFleet(members: workers.map { .worker($0) }), total)
    }

    /// Deliveries and coalesced events so far, and connections the gateway closed.
    var counts: (delivered: Int, coalesced: Int, closed: Int) {
        members.reduce(into: (0, 0, 0)) { sum, member in
            switch member {
            case .local(let pool):
                let (delivered, coalesced) = pool.stats.counts
                sum.0 += delivered
                sum.1 += coalesced
                sum.2 += pool.closedCount
            case .worker(let worker):
                let progress = worker.progress
                sum.0 += progress.delivered
                sum.1 += progress.coalesced
                sum.2 += progress.closed
            }
        }
    }

    /// The slow share stops reading.
    func pause() async {
        for member in members {
            switch member {
            case .local(let pool): await pool.pause()
            case .worker(let worker): worker.send("pause")
            }
        }
    }

    /// Collects every member's deliveries and closes the viewers.
    func finish() async throws -> WorkerResult {
        var total = WorkerResult(deliveries: DeliveryStats.Snapshot(), closedByServer: 0, slow: 0)
        for member in members {
            let result: WorkerResult
            switch member {
            case .local(let pool):
                result = WorkerResult(deliveries: pool.stats.snapshot, closedByServer: pool.closedCount, slow: pool.slowCount)
                await pool.closeAll()
            case .worker(let worker):
                worker.send("finish")
                result = try await worker.result()
            }
            total.deliveries.merge(result.deliveries)
            total.closedByServer += result.closedByServer
            total.slow += result.slow
        }
        return total
    }
}

extension ViewerPool.Plan {
    /// Streams are named `<prefix><n>`; workers rebuild the list from these two.
    var streamPrefix: String {
        guard let first = streams.first else { return "" }
        return String(first.prefix { !$0.isNumber })
    }
}

/// A dotted IPv4 address that can be stepped (127.0.0.2, 127.0.0.3, ...).
struct IPv4: CustomStringConvertible {
    var value: UInt32

    init(_ text: String) throws {
        let parts = text.split(separator: ".").compactMap { UInt32($0) }
        guard parts.count == 4, parts.allSatisfy({ $0 < 256 }) else { throw ValidationError("not an IPv4 address: \(text)") }
        value = parts.reduce(0) { $0 << 8 | $1 }
    }

    private init(value: UInt32) { self.value = value }

    func advanced(by steps: Int) -> IPv4 { IPv4(value: value &+ UInt32(steps)) }

    var description: String { [24, 16, 8, 0].map { String(value >> UInt32($0) & 0xff) }.joined(separator: ".") }
}

/// One worker process (`hawker-load viewers`): its stdout is read on a thread of its own,
/// line by line, into the latest progress and result.
final class WorkerProcess: Sendable {
    private struct State {
        var connected: ConnectStats?
        var progress: (delivered: Int, coalesced: Int, closed: Int) = (0, 0, 0)
        var result: WorkerResult?
        var ended = false
    }

    private let process: Process
    private let input: FileHandle
    private let state = NIOLockedValueBox(State())

    init(arguments: [String], secret: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HAWKER_LOAD_SECRET"] = secret
        process.environment = environment
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        self.process = process
        self.input = stdin.fileHandleForWriting
        let reader = stdout.fileHandleForReading
        Thread { [state] in
            var pending = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[pending.startIndex..<newline]
                    pending = Data(pending[pending.index(after: newline)...])
                    guard let message = try? JSONDecoder().decode(WorkerMessage.self, from: line) else { continue }
                    state.withLockedValue { state in
                        switch message {
                        case .connected(let stats): state.connected = stats
                        case .progress(let delivered, let coalesced, let closed): state.progress = (delivered, coalesced, closed)
                        case .result(let result): state.result = result
                        }
                    }
                }
            }
            state.withLockedValue { $0.ended = true }
        }.start()
    }

    var progress: (delivered: Int, coalesced: Int, closed: Int) { state.withLockedValue { $0.progress } }

    func send(_ command: String) {
        input.write(Data("\(command)\n".utf8))
    }

    func connected() async throws -> ConnectStats {
        try await wait { $0.connected }
    }

    func result() async throws -> WorkerResult {
        let result = try await wait { $0.result }
        // Polled rather than waitUntilExit(), which would block a concurrency thread.
        while process.isRunning { try await Task.sleep(nanoseconds: 10_000_000) }
        return result
    }

    private func wait<T>(for value: @escaping (State) -> T?) async throws -> T {
        while true {
            let (found, ended) = state.withLockedValue { (value($0), $0.ended) }
            if let found { return found }
            if ended { throw LoadError("a worker process ended early (exit status \(process.isRunning ? -1 : process.terminationStatus))") }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }
}
