import ArgumentParser

/// N viewers across S streams; a host publishes E events open loop at a fixed rate; every
/// delivery is counted, checked for order and timed.
struct Fanout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Fan-out: viewers over streams, one publisher; latency and server CPU per delivery.")

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var fleet: FleetOptions
    @Option(help: "Viewer connections.") var viewers = 1_000
    @Option(help: "Streams the viewers are spread over (viewer i watches stream i mod S).") var streams = 1
    @Option(help: "Events to publish and measure.") var events = 1_000
    @Option(help: "Events per second (open loop, fixed schedule).") var rate = 100
    @Option(help: "Bytes of text per event (48...500).") var payload = 100
    @Option(help: "Events published first and checked, but not measured.") var warmup = 100
    @Flag(help: "Also measure the cost of taking events in with nobody watching.") var measureIngest = false

    func run() async throws {
        let run = FanoutRun(
            gateway: gateway, fleet: fleet, scenario: "fanout", viewers: viewers, streams: streams, events: events,
            rate: rate, payload: payload, warmup: warmup, measureIngest: measureIngest
        )
        try finish(try await run.run(), json: gateway.json)
    }
}
