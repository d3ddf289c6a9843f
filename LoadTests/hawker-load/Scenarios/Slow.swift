import ArgumentParser

/// A share of the viewers stop reading: the others' latency, the server's memory.
struct Slow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Slow viewers: a share stops reading; the others' p99 before and after, and the gateway's memory."
    )

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var fleet: FleetOptions
    @Option(help: "Viewer connections.") var viewers = 1_000
    @Option(help: "Percent of the viewers that stop reading.") var slowPercent = 5.0
    @Option(help: "Events per phase (everyone reading, then the slow share not reading).") var events = 1_000
    @Option(help: "Events per second.") var rate = 100
    @Option(help: "Bytes of text per event (at most 500).") var payload = 500
    @Option(help: "Events published first and checked, but not measured.") var warmup = 100

    func run() async throws {
        guard slowPercent > 0, slowPercent <= 50 else { throw ValidationError("--slow-percent must be in (0, 50]") }
        let run = FanoutRun(
            gateway: gateway, fleet: fleet, scenario: "slow", viewers: viewers, streams: 1, events: events, rate: rate,
            payload: payload, warmup: warmup, slowEvery: max(2, Int((100 / slowPercent).rounded()))
        )
        try finish(try await run.run(), json: gateway.json)
    }
}
