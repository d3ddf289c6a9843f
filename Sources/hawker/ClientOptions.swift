import ArgumentParser
import Foundation

/// Where `publish` and `tail` connect.
struct ClientOptions: ParsableArguments {
    @Option(help: "Gateway address as ws://host:port.") var url: String = "ws://127.0.0.1:8080"
    @Option(help: "Token (default: $HAWKER_TOKEN).") var token: String?

    var endpoint: (host: String, port: Int) {
        get throws {
            guard let components = URLComponents(string: url), components.scheme == "ws", let host = components.host else {
                throw ValidationError("--url must look like ws://127.0.0.1:8080 (wss is not supported by this client yet)")
            }
            return (host, components.port ?? 80)
        }
    }

    var resolvedToken: String? {
        token ?? ProcessInfo.processInfo.environment["HAWKER_TOKEN"]
    }
}
