import Crypto
import Foundation
import HawkerProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A merchant's webhook endpoint written from PROTOCOL.md's "Webhook backend" section,
/// not from the gateway's code: it checks `Hawker-Signature` with its own HMAC-SHA256
/// over "<Hawker-Timestamp>.<body>", refuses timestamps outside the 300 s replay window,
/// and keeps one order per `Idempotency-Key` (the first wins), as a merchant must.
final class WebhookReceiver: Sendable {
    struct Request: Sendable {
        var idempotencyKey: String?
        var signatureValid: Bool
        var timestampFresh: Bool
        var body: [String: JSONValue]
        var headers: HTTPHeaders
    }

    /// What the merchant answers.
    enum Behaviour: Sendable {
        case confirm
        case reject(status: Int, reason: String)
        case fail(status: Int)
        /// Never answers (the gateway's timeout must fire).
        case hang
    }

    let secret: String
    private let behaviour = NIOLockedValueBox(Behaviour.confirm)
    private let state = NIOLockedValueBox(State())
    private let server: TestHTTPServer

    private struct State {
        var requests: [Request] = []
        /// Orders by idempotency key: reference and the body of the first delivery.
        var orders: [String: (reference: String, body: [String: JSONValue])] = [:]
    }

    var port: Int { server.port }

    init(secret: String = "whsec-0123456789abcdef", group: MultiThreadedEventLoopGroup = .singleton) {
        self.secret = secret
        self.server = TestHTTPServer(group: group)
    }

    var url: String { "http://127.0.0.1:\(port)/orders" }

    /// Binds (on `port`, or a free one the first time).
    func start(port: Int? = nil) async throws {
        try await server.start(port: port ?? self.port) { [self] head, body in
            let (status, text) = handle(head: head, body: body)
            return status.code == 0 ? nil : TestHTTPServer.Response(status: status, contentType: "application/json", body: text)
        }
    }

    /// Stops listening: deliveries meet "connection refused" until `start` again.
    func stop() async {
        await server.stop()
    }

    func behave(_ new: Behaviour) {
        behaviour.withLockedValue { $0 = new }
    }

    var requests: [Request] { state.withLockedValue { $0.requests } }
    var orders: [String: (reference: String, body: [String: JSONValue])] { state.withLockedValue { $0.orders } }

    /// Waits (polling) until `condition` holds on the orders, or fails after `seconds`.
    func waitForOrders(atLeast count: Int, seconds: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while orders.count < count {
            guard Date() < deadline else { throw WaitTimeout(description: "\(orders.count) of \(count) orders arrived") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: - Handling

    private func handle(head: HTTPRequestHead, body: ByteBuffer) -> (HTTPResponseStatus, String) {
        let timestamp = head.headers.first(name: "Hawker-Timestamp").flatMap { Int64($0) }
        let signature = head.headers.first(name: "Hawker-Signature")
        let key = head.headers.first(name: "Idempotency-Key")
        var valid = false
        if let timestamp, let signature {
            var mac = HMAC<SHA256>(key: SymmetricKey(data: Data(secret.utf8)))
            mac.update(data: Data("\(timestamp).".utf8))
            mac.update(data: Data(body.readableBytesView))
            let expected = "v1=" + Data(mac.finalize()).map { String(format: "%02x", $0) }.joined()
            valid = expected == signature
        }
        let fresh = timestamp.map { abs(Int64(Date().timeIntervalSince1970) - $0) <= 300 } ?? false
        let fields = (try? JSONParser.parse(body))?.objectValue ?? [:]
        let mode = behaviour.withLockedValue { $0 }
        return state.withLockedValue { state in
            state.requests.append(Request(idempotencyKey: key, signatureValid: valid, timestampFresh: fresh, body: fields, headers: head.headers))
            guard valid, fresh, let key, head.method == .POST, head.uri == "/orders" else {
                return (.unauthorized, #"{"reason":"bad signature"}"#)
            }
            switch mode {
            case .confirm:
                let reference = state.orders[key]?.reference ?? "WH-\(state.orders.count + 1)"
                if state.orders[key] == nil { state.orders[key] = (reference, fields) }
                return (.ok, #"{"reference":"\#(reference)"}"#)
            case .reject(let status, let reason):
                return (HTTPResponseStatus(statusCode: status), #"{"reason":"\#(reason)"}"#)
            case .fail(let status):
                return (HTTPResponseStatus(statusCode: status), "{}")
            case .hang:
                return (.custom(code: 0, reasonPhrase: "hang"), "")
            }
        }
    }
}

struct WaitTimeout: Error, CustomStringConvertible {
    let description: String
}
