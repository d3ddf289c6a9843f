import Foundation
import HawkerAuth
import HawkerClient
import HawkerHub
import HawkerProtocol
import HawkerServer
import Logging
import NIOCore
import NIOPosix
import Tracing

/// A real gateway on a free loopback port, with an HS256 secret the tests sign with.
struct TestGateway {
    static let secret = "test-secret-0123456789abcdef0123456789abcdef"

    let gateway: Gateway
    let port: Int
    let issuer: TokenIssuer

    static func start(tracer: (any Tracer)? = nil, _ configure: (inout GatewayConfiguration) -> Void = { _ in }) async throws -> TestGateway {
        var configuration = GatewayConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.eventLoops = 2
        configuration.jwtSecret = secret
        configuration.drainTimeout = .seconds(5)
        // Each gateway its own outbox, away from the working directory.
        configuration.dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-test-\(UUID().uuidString)").path
        configuration.orders.demoDelayMilliseconds = 10
        // The connect deadline is not what most tests exercise, and on a loaded 2-core CI
        // machine a test client can take seconds between its handshake and its `connect`
        // (seen in the storm suites); the tests of the deadline set their own.
        configuration.connectTimeout = .seconds(60)
        configure(&configuration)
        let keys = try await TokenVerifier.makeKeys(hmacSecret: secret, jwksJSON: nil)
        var logger = Logger(label: "hawker.test")
        logger.logLevel = .warning
        let gateway = try Gateway(configuration: configuration, verifier: TokenVerifier(keys: keys), logger: logger, tracer: tracer)
        let address = try await gateway.start()
        return TestGateway(gateway: gateway, port: address.port!, issuer: await TokenIssuer(hmacSecret: secret))
    }

    func token(_ role: Role, streams: [String], sub: String = "user-1", name: String? = nil, merchant: String? = nil, ttl: TimeInterval = 3_600) async throws -> String {
        try await issuer.issue(subject: sub, role: role, streams: streams, merchant: merchant, name: name, ttl: ttl)
    }

    /// A WebSocket connection that has not sent `connect` yet.
    func open(_ options: WebSocketClient.Options = .init()) async throws -> TestClient {
        TestClient(connection: try await HawkerConnection.open(host: "127.0.0.1", port: port, options: options))
    }

    /// A connected session for `role` on `streams`.
    func client(_ role: Role, streams: [String], sub: String = "user-1", name: String? = nil, merchant: String? = nil) async throws -> TestClient {
        // Signed before the socket opens, so the connect deadline never covers the signing.
        let token = try await token(role, streams: streams, sub: sub, name: name, merchant: merchant)
        let client = try await open()
        try await client.send(["type": "connect", "id": "c", "token": .string(token)])
        let welcome = try await client.receive()
        precondition(welcome["type"] == "welcome", "expected welcome, got \(welcome)")
        return client
    }

    func publish(_ stream: String, _ kind: String, _ data: [String: JSONValue]) async throws -> PublishReceipt {
        let draft = try EventDraft(kindName: kind, data: .object(data))
        return try await gateway.streams.publish(draft, to: StreamID(stream)!).get()
    }

    /// Sets `stream`'s catalog: each product priced in EUR, merchant `merchant`, `stock` units.
    @discardableResult
    func catalog(_ stream: String, _ products: [String], price: Int64 = 1_000, stock: Int64 = 100, merchant: String = "m1") async throws -> PublishReceipt {
        try await publish(
            stream, "catalog.set",
            [
                "products": .array(
                    products.map {
                        ["id": .string($0), "title": .string("Product \($0)"), "merchant": .string(merchant), "price": .int(price), "currency": "EUR", "stock": .int(stock)]
                    })
            ])
    }

    func metricsText() -> String {
        gateway.renderMetrics()
    }

    func stop() async {
        await gateway.shutdown()
    }
}
