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
                let actual = try await client.receive(expected["type"]?.stringValue)
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
