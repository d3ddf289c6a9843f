import Foundation
import HawkerAuth
import HawkerClient
import HawkerHub
import HawkerProtocol
import HawkerServer
import Logging
import NIOCore
import NIOPosix

/// A real gateway on a free loopback port, with an HS256 secret the tests sign with.
struct TestGateway {
    static let secret = "test-secret-0123456789abcdef0123456789abcdef"

    let gateway: Gateway
    let port: Int
    let issuer: TokenIssuer

    static func start(_ configure: (inout GatewayConfiguration) -> Void = { _ in }) async throws -> TestGateway {
        var configuration = GatewayConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.eventLoops = 2
        configuration.jwtSecret = secret
        configuration.drainTimeout = .seconds(5)
        configure(&configuration)
        let keys = try await TokenVerifier.makeKeys(hmacSecret: secret, jwksJSON: nil)
        var logger = Logger(label: "hawker.test")
        logger.logLevel = .warning
        let gateway = try Gateway(configuration: configuration, verifier: TokenVerifier(keys: keys), logger: logger)
        let address = try await gateway.start()
        return TestGateway(gateway: gateway, port: address.port!, issuer: await TokenIssuer(hmacSecret: secret))
    }

    func token(_ role: Role, streams: [String], sub: String = "user-1", ttl: TimeInterval = 3_600) async throws -> String {
        try await issuer.issue(subject: sub, role: role, streams: streams, ttl: ttl)
    }

    /// A WebSocket connection that has not sent `connect` yet.
    func open(_ options: WebSocketClient.Options = .init()) async throws -> TestClient {
        TestClient(connection: try await HawkerConnection.open(host: "127.0.0.1", port: port, options: options))
    }

    /// A connected session for `role` on `streams`.
    func client(_ role: Role, streams: [String], sub: String = "user-1") async throws -> TestClient {
        let client = try await open()
        try await client.send(["type": "connect", "id": "c", "token": .string(try await token(role, streams: streams, sub: sub))])
        let welcome = try await client.receive()
        precondition(welcome["type"] == "welcome", "expected welcome, got \(welcome)")
        return client
    }

    func publish(_ stream: String, _ kind: String, _ data: [String: JSONValue]) async throws -> PublishReceipt {
        let draft = try EventDraft(kindName: kind, data: .object(data))
        return try await gateway.broker.publish(draft, to: StreamID(stream)!).get()
    }

    func metricsText() -> String {
        gateway.renderMetrics()
    }

    func stop() async {
        await gateway.shutdown()
    }
}
