import ArgumentParser

/// Thousands of small streams: the same per-delivery cost as one big stream is the goal.
struct ManyStreams: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "many-streams",
        abstract: "Many small streams (default 4,900 × 4 viewers): server CPU per delivery, with the publishing cost measured apart."
    )

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var fleet: FleetOptions
    @Option(help: "Streams.") var streams = 4_900
    @Option(help: "Viewers per stream.") var viewersPerStream = 4
    @Option(help: "Events to publish and measure (round-robin over the streams).") var events = 25_000
    @Option(help: "Events per second, over all streams.") var rate = 2_500
    @Option(help: "Bytes of text per event (48...500).") var payload = 100
    @Option(help: "Events published first and checked, but not measured.") var warmup = 4_900

    func run() async throws {
        let run = FanoutRun(
            gateway: gateway, fleet: fleet, scenario: "many-streams", viewers: streams * viewersPerStream, streams: streams,
            events: events, rate: rate, payload: payload, warmup: warmup, measureIngest: true
        )
        try finish(try await run.run(), json: gateway.json)
    }
}
