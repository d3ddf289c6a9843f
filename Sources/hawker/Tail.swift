import ArgumentParser
import Foundation
import HawkerClient
import HawkerProtocol
import NIOCore

struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a stream's state and then its events and pushes as JSON lines.")

    @OptionGroup var client: ClientOptions
    @Option(help: "Stream id.") var stream: String
    @Option(help: "Stop after this many events (0 = until the connection ends).") var count: Int = 0

    func run() async throws {
        let (host, port) = try client.endpoint
        let connection = try await HawkerConnection.open(host: host, port: port)
        try await connection.connect(token: client.resolvedToken)
        try await connection.send(["type": "subscribe", "id": "1", "stream": .string(stream)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var events = 0
        while count == 0 || events < count {
            let message: [String: JSONValue]
            do {
                message = try await connection.receive(timeout: .hours(24))
            } catch HawkerConnection.ConnectionError.closed(let code, let reason) {
                FileHandle.standardError.write(Data("connection closed: \(code.map(String.init) ?? "-") \(reason)\n".utf8))
                throw ExitCode(code == 1000 ? 0 : 1)
            }
            // Written unbuffered so that a pipe sees each event at once.
            FileHandle.standardOutput.write(try encoder.encode(JSONValue.object(message)) + Data("\n".utf8))
            if message["type"] == "event" { events += 1 }
            if message["type"] == "error" { throw ExitCode(1) }
        }
        await connection.socket.close()
    }
}
