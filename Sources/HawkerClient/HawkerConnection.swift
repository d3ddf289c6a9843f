import Foundation
import HawkerProtocol
import NIOCore
import NIOPosix

/// A hawker.v1 session over `WebSocketClient`: JSON in, JSON out.
public final class HawkerConnection: Sendable {
    public let socket: WebSocketClient

    public enum ConnectionError: Error, Sendable, Equatable {
        case closed(code: UInt16?, reason: String)
        case unexpected(String)
    }

    public init(socket: WebSocketClient) {
        self.socket = socket
    }

    public static func open(host: String, port: Int, options: WebSocketClient.Options = .init(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> HawkerConnection {
        HawkerConnection(socket: try await WebSocketClient.connect(host: host, port: port, options: options, group: group))
    }

    public func send(_ object: [String: JSONValue]) async throws {
        let data = try JSONEncoder().encode(JSONValue.object(object))
        try await socket.send(text: String(decoding: data, as: UTF8.self))
    }

    /// The next JSON message; throws `closed` when the server closes instead.
    public func receive(timeout: TimeAmount = .seconds(10)) async throws -> [String: JSONValue] {
        switch try await socket.next(timeout: timeout) {
        case .text(let text):
            guard let object = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)).objectValue else {
                throw ConnectionError.unexpected(text)
            }
            return object
        case .close(let code, let reason):
            throw ConnectionError.closed(code: code, reason: reason)
        case .binary, .compressed:
            throw ConnectionError.unexpected("binary frame")
        case nil:
            throw ConnectionError.closed(code: nil, reason: "connection ended")
        }
    }

    /// Sends `connect` and returns the `welcome` (or throws with what came instead).
    @discardableResult
    public func connect(token: String?, id: String = "connect") async throws -> [String: JSONValue] {
        var command: [String: JSONValue] = ["type": "connect", "id": .string(id)]
        if let token { command["token"] = .string(token) }
        try await send(command)
        let reply = try await receive()
        guard reply["type"] == "welcome" else { throw ConnectionError.unexpected("\(reply)") }
        return reply
    }
}
