import AsyncHTTPClient
import Crypto
import Foundation
import HawkerProtocol
import NIOCore
import NIOHTTP1

/// Delivers orders by POSTing JSON to a merchant's URL, signed so that the merchant can
/// tell the request came from this gateway and is recent (PROTOCOL.md, "Webhook
/// backend"): `Hawker-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
/// with `Hawker-Timestamp` in Unix seconds.
///
/// 2xx confirms (the body's `reference`, else the idempotency key); 4xx rejects for good
/// (the body's `reason`), except 408 and 429; 5xx, timeouts and connection errors are
/// retried by the relay.
public struct WebhookOrderBackend: OrderBackend {
    public let name: String
    private let url: String
    private let key: SymmetricKey
    private let timeout: TimeAmount
    private let client: HTTPClient
    private let clock: @Sendable () -> Int64

    public static let signatureHeader = "Hawker-Signature"
    public static let timestampHeader = "Hawker-Timestamp"
    /// What receivers should allow between the timestamp and their clock.
    public static let replayWindowSeconds: Int64 = 300

    /// - Parameters:
    ///   - clock: seconds since the Unix epoch, for the timestamp; injected for tests.
    public init(
        merchant: String, url: String, secret: String, timeout: TimeAmount = .seconds(5),
        client: HTTPClient = .shared, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.name = "webhook:\(merchant)"
        self.url = url
        self.key = SymmetricKey(data: Data(secret.utf8))
        self.timeout = timeout
        self.client = client
        self.clock = clock
    }

    /// The `Hawker-Signature` value for `body` sent at `timestamp`.
    public static func signature(body: ByteBuffer, timestamp: Int64, key: SymmetricKey) -> String {
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: Array("\(timestamp).".utf8))
        hmac.update(data: Array(body.readableBytesView))
        return "v1="
            + hmac.finalize().map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
    }

    public func deliver(_ delivery: OutboxDelivery) async -> BackendResult {
        // The same order.requested fields an order service gets (schemas/common.json
        // orderRequestBody), without `type` and `delivery`.
        var payload = delivery.payload
        payload["attempt"] = .int(Int64(delivery.attempts + 1))
        payload["replay"] = false
        let body = JSONText.encode(.object(payload))
        let timestamp = clock()
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "hawker-order-relay")
        request.headers.add(name: "Idempotency-Key", value: delivery.idempotencyKey)
        request.headers.add(name: Self.timestampHeader, value: "\(timestamp)")
        request.headers.add(name: Self.signatureHeader, value: Self.signature(body: body, timestamp: timestamp, key: key))
        // The attempt's trace context (`traceparent`), when checkouts are traced: the
        // merchant's server can continue the trace.
        for (name, value) in delivery.traceContext.sorted(by: { $0.key < $1.key })
        where OrderTracing.isHTTPHeader(name) && OrderTracing.isCarried(name, value) {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(body)
        do {
            let response = try await client.execute(request, timeout: timeout)
            let answer = try? await response.body.collect(upTo: 64 * 1024)
            let fields = answer.flatMap { try? JSONParser.parse($0, maxDepth: 8) }?.objectValue ?? [:]
            let code = Int(response.status.code)
            switch code {
            case 200..<300:
                let reference = fields["reference"]?.stringValue.flatMap { $0.isEmpty ? nil : String($0.prefix(128)) }
                return .confirmed(reference: reference ?? delivery.idempotencyKey)
            case 408, 429:
                return .unavailable(error: "HTTP \(code)")
            case 400..<500:
                // An empty reason says nothing: the status code does.
                let reason = fields["reason"]?.stringValue.flatMap { $0.isEmpty ? nil : String($0.prefix(256)) }
                return .rejected(reason: reason ?? "HTTP \(code)")
            default:
                return .unavailable(error: "HTTP \(code)")
            }
        } catch {
            return .unavailable(error: "\(error)")
        }
    }
}
