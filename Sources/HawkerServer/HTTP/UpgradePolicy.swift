import HawkerWebSocket
import NIOHTTP1

/// Decides whether an HTTP request may become a WebSocket, and with what: the endpoint,
/// the subprotocol, the Origin allow-list and permessage-deflate. The upgrader and the
/// HTTP handler (which explains refusals) use the same rules.
struct UpgradePolicy: Sendable {
    enum Endpoint: Sendable {
        case hawker
        case echo
    }

    struct Decision: Sendable {
        var endpoint: Endpoint
        var compression: PerMessageDeflateParameters?
        var headers: HTTPHeaders
    }

    struct Refusal: Error, Sendable {
        var status: HTTPResponseStatus
        var code: String
        var message: String
    }

    static let subprotocol = "hawker.v1"

    var configuration: GatewayConfiguration
    var isDraining: @Sendable () -> Bool

    func evaluate(_ head: HTTPRequestHead) -> Result<Decision, Refusal> {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let endpoint: Endpoint
        switch path {
        case "/ws": endpoint = .hawker
        case "/echo" where configuration.conformanceEcho: endpoint = .echo
        default: return .failure(Refusal(status: .notFound, code: "not_found", message: "WebSocket endpoint is /ws"))
        }
        if isDraining() {
            return .failure(Refusal(status: .serviceUnavailable, code: "draining", message: "the gateway is shutting down; reconnect to another node"))
        }
        if !configuration.allowedOrigins.isEmpty {
            // A request has at most one Origin (RFC 6454 §7.3): with two, which one a
            // check reads is a guess, so neither is trusted.
            let origins = head.headers["origin"]
            if origins.count > 1 {
                return .failure(Refusal(status: .forbidden, code: "origin_not_allowed", message: "send one Origin header"))
            }
            if let origin = origins.first, !configuration.allowedOrigins.contains(origin) {
                return .failure(Refusal(status: .forbidden, code: "origin_not_allowed", message: "Origin '\(origin.prefix(100))' is not allowed"))
            }
        }
        var headers = HTTPHeaders()
        if endpoint == .hawker {
            let offered = head.headers[canonicalForm: "sec-websocket-protocol"].map { $0.lowercased() }
            guard offered.contains(Self.subprotocol) else {
                return .failure(Refusal(status: .badRequest, code: "subprotocol_required", message: "request the subprotocol \(Self.subprotocol) (Sec-WebSocket-Protocol)"))
            }
            headers.add(name: "Sec-WebSocket-Protocol", value: Self.subprotocol)
        }
        var compression: PerMessageDeflateParameters?
        if configuration.compressionEnabled {
            compression = PerMessageDeflateParameters.negotiate(offers: head.headers["sec-websocket-extensions"])
            if let compression {
                headers.add(name: "Sec-WebSocket-Extensions", value: compression.responseHeaderValue)
            }
        }
        return .success(Decision(endpoint: endpoint, compression: compression, headers: headers))
    }
}
