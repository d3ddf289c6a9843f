import ArgumentParser
import Foundation
import HawkerClient
import HawkerProtocol

struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Publish one event to a stream over WebSocket (host or admin token).")

    @OptionGroup var client: ClientOptions
    @Option(help: "Stream id.") var stream: String
    @Option(help: "Event kind, e.g. price.changed.") var kind: String
    @Option(help: "Event data as a JSON object.") var data: String = "{}"

    func run() async throws {
        guard let payload = try? JSONDecoder().decode(JSONValue.self, from: Data(data.utf8)) else {
            throw ValidationError("--data must be a JSON object")
        }
        let (host, port) = try client.endpoint
        let connection = try await HawkerConnection.open(host: host, port: port)
        try await connection.connect(token: client.resolvedToken)
        try await connection.send(["type": "publish", "id": "1", "stream": .string(stream), "event": ["kind": .string(kind), "data": payload]])
        let reply = try await connection.receive()
        print(String(decoding: try JSONEncoder().encode(JSONValue.object(reply)), as: UTF8.self))
        await connection.socket.close()
        if reply["type"] != "published" { throw ExitCode(1) }
    }
}
