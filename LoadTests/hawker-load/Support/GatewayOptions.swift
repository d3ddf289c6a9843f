import ArgumentParser
import Foundation
import HawkerAuth

/// What every socket scenario needs: where the gateway is, how to sign tokens, which
/// process to measure, and where to write the result.
struct GatewayOptions: ParsableArguments {
    @Option(help: "Gateway as ws://host:port.") var url = "ws://127.0.0.1:8080"
    @Option(help: "HS256 secret to sign tokens (default $HAWKER_JWT_SECRET).") var secret: String?
    @Option(help: "Gateway process id, for CPU time and RSS from /proc.") var serverPid: Int32?
    @Option(help: "Event-loop threads of the generator (per process).") var threads = 1
    @Option(help: "Write the result as JSON to this file (and an HTML report beside it).") var json: String?

    var endpoint: (host: String, port: Int) {
        get throws {
            guard let components = URLComponents(string: url), let host = components.host, let port = components.port else {
                throw ValidationError("--url must look like ws://127.0.0.1:8080")
            }
            return (host, port)
        }
    }

    var signingSecret: String {
        get throws {
            guard let secret = secret ?? ProcessInfo.processInfo.environment["HAWKER_JWT_SECRET"] else {
                throw ValidationError("pass --secret or set HAWKER_JWT_SECRET (the gateway's jwt.secret)")
            }
            guard secret.utf8.count >= TokenVerifier.minimumSecretBytes else {
                throw ValidationError("the secret must be at least \(TokenVerifier.minimumSecretBytes) bytes")
            }
            return secret
        }
    }

    /// The gateway's CPU time and RSS now, when `--server-pid` is given.
    func serverStats() -> ProcessStats? {
        serverPid.flatMap(ProcessStats.read)
    }
}
