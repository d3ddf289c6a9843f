import Foundation
import HawkerAuth
import Histogram
import NIOCore
import NIOPosix

/// The fan-out measurement shared by `fanout`, `many-streams` and `slow`: viewers over
/// streams, a host publishing open loop, every delivery counted and timed, and the
/// gateway's CPU time per delivery.
struct FanoutRun {
    var gateway: GatewayOptions
    var fleet: FleetOptions
    var scenario: String
    var viewers: Int
    var streams: Int
    var events: Int
    var rate: Int
    var payload: Int
    /// Events published (and checked) before measuring, at the same rate.
    var warmup: Int
    /// Also measure the gateway's cost of taking in events with nobody watching, so the
    /// fan-out's own cost per delivery can be told apart from the publishing cost.
    var measureIngest = false
    /// `slow`: every n-th viewer stops reading for a second phase of `events`.
    var slowEvery = 0
    /// `cluster`: the nodes' ports on the gateway's host, viewer i on the (i mod n)-th (the
    /// publisher stays on `--url`); empty: every viewer on `--url`.
    var viewerPorts: [Int] = []
    /// `cluster`: the nodes' process ids, whose CPU time is summed (instead of
    /// `--server-pid`'s).
    var serverPids: [Int32] = []
    /// `cluster`: counters read before and after the measured phase (Redis's), reported
    /// per event published.
    var sideCounters: (@Sendable () async -> [String: Double])?

    /// The CPU time and RSS of the measured gateway processes, summed.
    private func serverStats() -> ProcessStats? {
        guard !serverPids.isEmpty else { return gateway.serverStats() }
        let all = serverPids.compactMap(ProcessStats.read)
        guard all.count == serverPids.count else { return nil }
        return ProcessStats(
            cpuMicroseconds: all.map(\.cpuMicroseconds).reduce(0, +), systemMicroseconds: all.map(\.systemMicroseconds).reduce(0, +),
            residentBytes: all.map(\.residentBytes).reduce(0, +))
    }

    func run() async throws -> LoadResult {
        // An announcement's text is at most 500 characters.
        guard (48...500).contains(payload) else { throw LoadError("--payload must be 48...500 bytes") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: gateway.threads)
        do {
            let result = try await run(group: group)
            try await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func run(group: MultiThreadedEventLoopGroup) async throws -> LoadResult {
        let (host, port) = try gateway.endpoint
        let issuer = await TokenIssuer(hmacSecret: try gateway.signingSecret)
        let streamIDs = (0..<streams).map { "load-\($0)" }
        var result = LoadResult(scenario: scenario)
        result.parameter("viewers", "viewers", Double(viewers))
        result.parameter("streams", "streams", Double(streams))
        result.parameter("rate", "events/s", Double(rate))
        result.parameter("events", "events", Double(events))
        result.parameter("payload", "payload", Double(payload), unit: "B")
        if slowEvery > 0 { result.parameter("slow_share", "slow share", 100 / Double(slowEvery), unit: "%") }

        let publisher = try await Publisher.open(host: host, port: port, group: group, issuer: issuer)
        progress("starting \(streams) stream(s)")
        try await publisher.start(streamIDs)
        var nextEvent = 0

        if measureIngest {
            // Nobody watches yet: what the gateway spends per event just to take it in.
            let count = min(events, rate * 5)
            let before = serverStats()
            try await publisher.publish(count: count, rate: rate, payload: payload, streams: streamIDs, phase: 0, firstIndex: nextEvent)
            try await Task.sleep(nanoseconds: 500_000_000)
            if let before, let after = serverStats() {
                result.figure(
                    "server_cpu_us_per_event_ingest", "server CPU per event taken in (no viewers)", (after.cpuMicroseconds - before.cpuMicroseconds) / Double(count), unit: "µs", .lowerIsBetter)
            }
            nextEvent += count
        }

        let plan = ViewerPool.Plan(
            host: host, port: port, ports: viewerPorts, tokens: ViewerTokens(secret: try gateway.signingSecret), streams: streamIDs, count: viewers, slowEvery: slowEvery)
        progress("connecting \(viewers) viewers over \(streams) stream(s) from \(fleet.processCount(viewers: viewers)) process(es)")
        let (fleet, connect) = try await ViewerFleet.connect(plan, options: self.fleet, threads: gateway.threads, group: group)
        guard connect.failed == 0 else {
            throw LoadError("\(connect.failed) of \(viewers) viewers could not connect: \(connect.firstError ?? "")")
        }
        let isSlow = { (viewer: Int) in slowEvery > 0 && viewer % slowEvery == slowEvery - 1 }
        let slowViewers = (0..<viewers).filter(isSlow).count
        var expectedTotal = 0

        // One phase: publish, then wait until every expected delivery arrived (or stalled).
        func phase(_ number: Int, count: Int, label: String) async throws -> (cpu: Double?, seconds: Double, expected: Int, maxRSS: Int?) {
            // Slow viewers read like the others until the phase in which they stop.
            let expected = expectedDeliveries(events: count, firstEvent: nextEvent, viewers: viewers, streams: streams) { number < 2 || !isSlow($0) }
            expectedTotal += expected
            let target = expectedTotal
            let already = target - expected
            let before = serverStats()
            let started = NIODeadline.now()
            let line = ProgressLine { [fleet] in
                let (delivered, coalesced, closed) = fleet.counts
                return "\(label): \(delivered + coalesced - already)/\(expected) deliveries" + (closed > 0 ? ", \(closed) closed by the gateway" : "")
            }
            // A marker for scripts that measure the gateway from outside during the phase.
            progress("phase \(number) started: \(label)")
            try await publisher.publish(count: count, rate: rate, payload: payload, streams: streamIDs, phase: number, firstIndex: nextEvent)
            nextEvent += count
            var maxRSS = serverStats()?.residentBytes
            var last = -1
            var stalled = NIODeadline.now()
            while true {
                let (delivered, coalesced, _) = fleet.counts
                if delivered + coalesced >= target { break }
                if delivered + coalesced != last {
                    last = delivered + coalesced
                    stalled = NIODeadline.now()
                } else if NIODeadline.now() - stalled > .seconds(10) {
                    break  // nothing more is coming: the rest is lost
                }
                if let refusal = publisher.refusals.first { throw LoadError("the gateway refused a publish: \(refusal)") }
                maxRSS = max(maxRSS ?? 0, serverStats()?.residentBytes ?? 0)
                try await Task.sleep(nanoseconds: 5_000_000)
            }
            let seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
            await line.stop()
            let after = serverStats()
            return (before.flatMap { before in after.map { $0.cpuMicroseconds - before.cpuMicroseconds } }, seconds, expected, maxRSS)
        }

        if warmup > 0 {
            _ = try await phase(0, count: warmup, label: "warm-up")
        }
        let countersBefore = await sideCounters?()
        let nodesBefore = serverPids.map(ProcessStats.read)
        // One gateway: how its event loops share the work.
        let loopPid = serverPids.isEmpty ? gateway.serverPid : nil
        let loopsBefore = loopPid.map(ProcessStats.eventLoopMicroseconds) ?? [:]
        let measured = try await phase(1, count: events, label: "publishing \(events) events at \(rate)/s")
        let nodesAfter = serverPids.map(ProcessStats.read)
        let loopsAfter = loopPid.map(ProcessStats.eventLoopMicroseconds) ?? [:]
        if let countersBefore, let countersAfter = await sideCounters?() {
            for (name, value) in countersAfter.sorted(by: { $0.key < $1.key }) {
                guard let before = countersBefore[name] else { continue }
                result.figure(name + "_per_event", name.replacingOccurrences(of: "_", with: " ") + " per event", (value - before) / Double(max(1, events)), unit: "", .lowerIsBetter)
            }
        }
        var slowPhase: (cpu: Double?, seconds: Double, expected: Int, maxRSS: Int?)?
        let rssBeforeSlow = serverStats()?.residentBytes
        if slowEvery > 0 {
            await fleet.pause()
            slowPhase = try await phase(2, count: events, label: "with \(slowViewers) viewers not reading")
        }
        let closedBeforeFinish = fleet.counts.closed
        let final = try await fleet.finish()
        await publisher.close()
        let deliveries = final.deliveries

        let delivered = deliveries.deliveredPerPhase[1]
        let lost = expectedTotal - deliveries.delivered - deliveries.coalesced
        result.figure("deliveries_per_second", "deliveries/s", Double(delivered) / max(measured.seconds, 1e-9), unit: "/s", .higherIsBetter)
        result.figure("server_cpu_us_per_delivery", "server CPU per delivery", measured.cpu.map { $0 / Double(max(1, delivered)) }, unit: "µs", .lowerIsBetter)
        if serverPids.count > 1 {
            // Each node's CPU over the deliveries to its own viewers (viewer i on node i mod n).
            for (index, (before, after)) in zip(nodesBefore, nodesAfter).enumerated() {
                let own = (0..<viewers).filter { $0 % serverPids.count == index }.count
                let share = Double(delivered) * Double(own) / Double(max(1, viewers))
                result.figure(
                    "server_cpu_us_per_delivery_node_\(index + 1)", "node \(index + 1) CPU per delivery to its viewers",
                    before.flatMap { before in after.map { ($0.cpuMicroseconds - before.cpuMicroseconds) / max(1, share) } }, unit: "µs", .lowerIsBetter)
            }
        }
        // With several event loops: each loop's part of the gateway's CPU while publishing
        // (loops that did nothing, such as a client library's, left out).
        let loopCPU = loopsAfter.compactMap { name, after in loopsBefore[name].map { (name, after - $0) } }.filter { $0.1 > 0 }.sorted { $0.0 < $1.0 }
        let loopTotal = loopCPU.map(\.1).reduce(0, +)
        let busyLoops = loopCPU.filter { $0.1 > loopTotal * 0.02 }
        if busyLoops.count > 1, let cpu = measured.cpu, cpu > 0 {
            for (index, (_, microseconds)) in busyLoops.enumerated() {
                result.figure("loop_\(index + 1)_cpu_share", "event loop \(index + 1)'s share of the gateway's CPU", microseconds / cpu * 100, unit: "%", .neutral)
                result.figure("loop_\(index + 1)_cpu_us_per_delivery", "event loop \(index + 1)'s CPU per delivery (all deliveries)", microseconds / Double(max(1, delivered)), unit: "µs", .neutral)
            }
        }
        result.figure("delivered", "delivered", Double(deliveries.delivered), unit: "", .neutral)
        result.figure("expected", "expected", Double(expectedTotal), unit: "", .neutral)
        result.figure("coalesced", "coalesced (gap notices)", Double(deliveries.coalesced), unit: "", .neutral)
        result.figure("lost", "lost", Double(max(0, lost)), unit: "", .lowerIsBetter)
        result.figure("reordered", "reordered", Double(deliveries.reordered), unit: "", .lowerIsBetter)
        result.figure("time_to_snapshot_p99_ms", "viewer connect to snapshot p99", Double(connect.timeToSnapshot.valueAtPercentile(99)) / 1e6, unit: "ms", .lowerIsBetter)
        result.figure("server_rss_kib", "server RSS", serverStats().map { Double($0.residentBytes) / 1024 }, unit: "KiB", .lowerIsBetter)
        result.latency = LoadResult.Latency(label: "publish to delivery", histogram: deliveries.latency[1])
        if let slowPhase {
            let baseline = deliveries.latency[1].valueAtPercentile(99)
            let slowed = deliveries.latency[2].valueAtPercentile(99)
            result.figure("slow_viewers", "viewers not reading", Double(final.slow), unit: "", .neutral)
            result.figure("healthy_p99_ms_before", "others' p99, everyone reading", Double(baseline) / 1e6, unit: "ms", .lowerIsBetter)
            result.figure("healthy_p99_ms_with_slow", "others' p99, slow share not reading", Double(slowed) / 1e6, unit: "ms", .lowerIsBetter)
            result.figure("healthy_p99_ratio", "others' p99 ratio (with / without)", Double(slowed) / Double(max(1, baseline)), unit: "×", .lowerIsBetter)
            result.figure(
                "server_cpu_us_per_delivery_with_slow", "server CPU per delivery, slow share not reading", slowPhase.cpu.map { $0 / Double(max(1, deliveries.deliveredPerPhase[2])) }, unit: "µs",
                .lowerIsBetter)
            if let before = rssBeforeSlow, let peak = slowPhase.maxRSS {
                result.figure(
                    "rss_growth_per_slow_viewer_kib", "server RSS growth per slow viewer (peak)", Double(max(0, peak - before)) / 1024 / Double(max(1, final.slow)), unit: "KiB", .lowerIsBetter)
            }
            result.figure("closed_by_gateway", "slow viewers closed by the gateway (4001)", Double(closedBeforeFinish), unit: "", .neutral)
            result.latency = LoadResult.Latency(label: "publish to delivery, others, while the slow share does not read", histogram: deliveries.latency[2])
        }
        if measureIngest, let ingest = result.figure(named: "server_cpu_us_per_event_ingest")?.value, let cpu = measured.cpu {
            let fanoutOnly = (cpu - ingest * Double(events)) / Double(max(1, delivered))
            result.figure("server_cpu_us_per_delivery_fanout_only", "server CPU per delivery, publishing cost taken out", fanoutOnly, unit: "µs", .lowerIsBetter)
        }

        if lost > 0 { result.failures.append("\(lost) deliveries lost") }
        if deliveries.reordered > 0 { result.failures.append("\(deliveries.reordered) deliveries out of order") }
        let refusals = publisher.refusals
        if refusals.count > 0 { result.failures.append("\(refusals.count) publishes refused, first: \(refusals.first ?? "")") }
        if slowEvery == 0, final.closedByServer > 0 { result.failures.append("\(final.closedByServer) viewers were closed by the gateway") }
        return result
    }
}
