import ArgumentParser

@main
struct HawkerLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hawker-load",
        abstract: "Load generator for Hawker: real WebSocket viewers against a running gateway.",
        subcommands: [Fanout.self, Chat.self, Aggregators.self, FlashSale.self, Checkouts.self]
    )
}
