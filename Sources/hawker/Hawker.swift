import ArgumentParser

@main
struct Hawker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hawker",
        abstract: "Real-time WebSocket gateway for live-stream commerce.",
        subcommands: [Serve.self, Token.self, Publish.self, Send.self, Tail.self, Config.self],
        defaultSubcommand: Serve.self
    )
}
