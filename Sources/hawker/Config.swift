import ArgumentParser
import HawkerServer

struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every configuration key with its environment variable and default (Markdown).")

    func run() {
        print("| key | environment | default | meaning |")
        print("|---|---|---|---|")
        for key in GatewayConfiguration.keys {
            print("| `\(key.name)` | `\(key.environmentVariable)` | `\(key.defaultDescription())` | \(key.summary) |")
        }
    }
}
