import Foundation
import HawkerAuth
import HawkerClient
import HawkerProtocol
import HawkerServer
import NIOCore
import Testing

/// Replays Protocol/vectors against a live gateway, so the spec and the server agree.
@Suite struct VectorTests {
    @Test func thereAreVectors() {
        #expect(ConformanceVector.all().count >= 10)
    }

    @Test(arguments: ConformanceVector.all())
    func replay(_ vector: ConformanceVector) async throws {
        #expect(vector.name != "unreadable", "\(vector.file) does not parse")
        let server = try await TestGateway.start()
        var clients: [String: TestClient] = [:]
        var tokens: [String: String] = [:]
        // A reply and the pushes its command causes are not ordered (a chat batch may
        // reach the sender before its chat.accepted): pushes received while a reply is
        // awaited wait here for the step that expects them, in the order they came.
        var early: [String: [[String: JSONValue]]] = [:]
        func message(for expected: JSONValue, from client: TestClient, _ label: String) async throws -> [String: JSONValue] {
            let type = expected["type"]?.stringValue
            if let index = early[label, default: []].firstIndex(where: { $0["type"]?.stringValue == type }) {
                return early[label]!.remove(at: index)
            }
            while true {
                let received = try await client.receive(type)
                if expected["re"] != nil, received["re"] == nil, received["type"]?.stringValue != type {
                    early[label, default: []].append(received)
                    continue
                }
                return received
            }
        }
        for (label, client) in vector.clients {
            if let spec = client.token {
                tokens[label] = try await ConformanceVector.mint(spec, secret: TestGateway.secret)
            }
        }
        for (index, step) in vector.steps.enumerated() {
            let where_ = "\(vector.file) step \(index + 1) (\(step.client))"
            let client: TestClient
            if let existing = clients[step.client] {
                client = existing
            } else {
                client = try await server.open()
                clients[step.client] = client
            }
            if case .object(var command) = step.send {
                if command["token"] == "$token" {
                    command["token"] = tokens[step.client].map(JSONValue.string) ?? .null
                }
                try await client.send(command)
            } else if let raw = step.send_raw {
                try await client.socket.send(text: raw)
            } else if let expected = step.expect {
                let actual = try await message(for: expected, from: client, step.client)
                let problem = VectorMatch.mismatch(expected: expected, actual: .object(actual))
                #expect(problem == nil, "\(where_): \(problem ?? ""); received \(actual)")
                if problem != nil { break }
            } else if let code = step.expect_close {
                #expect(try await client.closeCode().map(Int.init) == code, "\(where_)")
            }
        }
        for client in clients.values { await client.socket.abort() }
        await server.stop()
    }
}
