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
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)
    private let group: MultiThreadedEventLoopGroup

    private struct State {
        var requests: [Request] = []
        /// Orders by idempotency key: reference and the body of the first delivery.
        var orders: [String: (reference: String, body: [String: JSONValue])] = [:]
    }

    var port: Int { portBox.withLockedValue { $0 } }

    init(secret: String = "whsec-0123456789abcdef", group: MultiThreadedEventLoopGroup = .singleton) {
        self.secret = secret
        self.group = group
    }

    var url: String { "http://127.0.0.1:\(port)/orders" }

    /// Binds (on `port`, or a free one the first time).
    func start(port: Int? = nil) async throws {
        let receiver = self
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(receiver: receiver))
                }
            }
            .bind(host: "127.0.0.1", port: port ?? self.port)
            .get()
        channel.withLockedValue { $0 = bound }
        self.portBox.withLockedValue { $0 = bound.localAddress!.port! }
    }

    private let portBox = NIOLockedValueBox(0)

    /// Stops listening: deliveries meet "connection refused" until `start` again.
    func stop() async {
        let bound = channel.withLockedValue { channel in
            defer { channel = nil }
            return channel
        }
        try? await bound?.close()
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

    fileprivate func handle(head: HTTPRequestHead, body: ByteBuffer) -> (HTTPResponseStatus, String) {
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

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let receiver: WebhookReceiver
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(receiver: WebhookReceiver) {
            self.receiver = receiver
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                guard let head else { return }
                let (status, text) = receiver.handle(head: head, body: body)
                if status.code == 0 { return }  // hang
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: "\(text.utf8.count)")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

struct WaitTimeout: Error, CustomStringConvertible {
    let description: String
}
