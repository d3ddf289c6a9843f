import ArgumentParser
import Foundation
import HawkerClient
import HawkerProtocol

/// Any hawker.v1 command from a shell: chat, questions, intents, moderation.
struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send one command (JSON) after connecting, and print its reply.",
        discussion: #"Example: hawker send --token "$T" '{"type":"chat.send","stream":"demo","text":"love it"}'"#
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "The command as a JSON object; `id` is added when missing.") var command: String

    func run() async throws {
        guard case .object(var object) = try? JSONDecoder().decode(JSONValue.self, from: Data(command.utf8)) else {
            throw ValidationError("the command must be a JSON object such as {\"type\":\"chat.send\",\"stream\":\"demo\",\"text\":\"hi\"}")
        }
        if object["id"] == nil { object["id"] = "1" }
        let (host, port) = try client.endpoint
        let connection = try await HawkerConnection.open(host: host, port: port)
        try await connection.connect(token: client.resolvedToken)
        try await connection.send(object)
        // Pushes may arrive first; the reply is the message that answers our id.
        var reply: [String: JSONValue]
        repeat {
            reply = try await connection.receive()
        } while reply["re"] != object["id"]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(JSONValue.object(reply)), as: UTF8.self))
        await connection.socket.close()
        if reply["type"] == "error" { throw ExitCode(1) }
    }
}
