import HawkerCommerce
import HawkerOrders
import HawkerProtocol
import HawkerWeb
import HawkerWebSocket
import NIOCore
import NIOHTTP1

/// The gateway's pure decisions, for the libFuzzer targets in Fuzz/ only (`@_spi(Fuzzing)`):
/// the upgrade policy, the handshake checks, the refusal explanation, the HTTP routing
/// (`HTTPRoute`), the fast upgrade path's request scanner, the bearer header, the browser files, and the bodies built from stored
/// outbox rows. Each wraps the code the server runs; none adds behaviour.
@_spi(Fuzzing) public enum GatewayFuzzing {
    /// `UpgradePolicy.evaluate`: either a decision or a refusal.
    public struct UpgradeOutcome: Sendable {
        /// "hawker" or "echo"; nil when refused.
        public var endpoint: String?
        public var compression: PerMessageDeflateParameters?
        public var headers: HTTPHeaders
        public var refusalStatus: HTTPResponseStatus?
        public var refusalCode: String?
        public var refusalMessage: String?
    }

    private static func policy(_ configuration: GatewayConfiguration, draining: Bool) -> UpgradePolicy {
        UpgradePolicy(configuration: configuration, isDraining: { draining })
    }

    public static func evaluateUpgrade(_ head: HTTPRequestHead, configuration: GatewayConfiguration, draining: Bool) -> UpgradeOutcome {
        switch policy(configuration, draining: draining).evaluate(head) {
        case .success(let decision):
            let endpoint: String
            switch decision.endpoint {
            case .hawker: endpoint = "hawker"
            case .echo: endpoint = "echo"
            }
            return UpgradeOutcome(endpoint: endpoint, compression: decision.compression, headers: decision.headers)
        case .failure(let refusal):
            return UpgradeOutcome(
                headers: HTTPHeaders(), refusalStatus: refusal.status, refusalCode: refusal.code, refusalMessage: refusal.message
            )
        }
    }

    /// `WebSocketUpgrader`'s 101 headers (key, version and policy checked), or its error.
    public static func upgradeResponseHeaders(_ head: HTTPRequestHead, configuration: GatewayConfiguration, draining: Bool) -> Result<HTTPHeaders, any Error> {
        Result { try WebSocketUpgrader.responseHeaders(for: head, policy: policy(configuration, draining: draining), initialResponseHeaders: HTTPHeaders()) }
    }

    /// `HTTPAPIHandler`'s answer to `/ws` or `/echo` sent as a plain request.
    public static func upgradeRefusal(_ head: HTTPRequestHead, configuration: GatewayConfiguration, draining: Bool) -> (status: HTTPResponseStatus, headers: [(String, String)], body: ByteBuffer) {
        let response = HTTPAPIHandler.upgradeRefusal(head, policy: policy(configuration, draining: draining))
        return (response.status, response.headers, response.body)
    }

    /// `UpgradeRequestScanner` (the fast upgrade path) on a connection's first bytes: the
    /// request head and its length when it recognises an upgrade request. `consistent`:
    /// the same bytes arriving in two reads, split at `split`, give the same answer.
    public static func scanUpgradeRequest(_ bytes: [UInt8], split: Int) -> (request: (head: HTTPRequestHead, length: Int)?, consistent: Bool) {
        var whole = UpgradeRequestScanner()
        let outcome = whole.scan(ByteBuffer(bytes: bytes))
        var pieces = UpgradeRequestScanner()
        var first = pieces.scan(ByteBuffer(bytes: bytes.prefix(min(max(split, 0), bytes.count))))
        if first == .needMore { first = pieces.scan(ByteBuffer(bytes: bytes)) }
        guard case .upgrade(let head, let length) = outcome else { return (nil, first == outcome) }
        return ((head, length), first == outcome)
    }

    /// `Authorization: Bearer <token>` as the gateway reads it.
    public static func bearerToken(_ headers: HTTPHeaders) -> String? {
        headers.bearerToken
    }

    /// The browser files the gateway serves (Web/public), read once.
    private static let webFiles = StaticFiles(directory: WebAssets.directory)

    public static var staticFileCount: Int { webFiles.count }

    /// `StaticFiles.file(for:)`: the file's content type, ETag and size, or nil.
    public static func staticFile(for segments: [String]) -> (contentType: String, etag: String, bytes: Int)? {
        webFiles.file(for: segments).map { ($0.contentType, $0.etag, $0.body.readableBytes) }
    }

    /// The push a buyer's session receives for a notice read from the outbox.
    public static func noticeMessage(_ notice: OrderNotice) -> ServerMessage {
        notice.message
    }

    /// `checkout.accepted`'s body for a reservation (possibly one read back from the outbox).
    public static func acceptedBody(_ reservation: Reservation, stream: StreamID, replayed: Bool) -> [String: JSONValue] {
        CheckoutDesk.acceptedBody(reservation, stream: stream, replayed: replayed)
    }
}
