import ArgumentParser

@main
struct HawkerLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hawker-load",
        abstract: "Load generator for Hawker: real WebSocket viewers against a running gateway.",
        subcommands: [
            Fanout.self, Idle.self, ConnectStorm.self, Slow.self, ManyStreams.self, Chat.self, FlashSale.self, Checkouts.self,
            Aggregators.self, Cluster.self, Compare.self, Report.self, ViewerWorker.self,
        ]
    )
}
