import NIOHTTP1

/// Which endpoint of the plain HTTP side a request is for, from its method and target
/// alone: no token, no hub, no files. `HTTPAPIHandler` answers each case; what needs more
/// than the request line (a token, whether a static file exists, whether orders are
/// relayed) is decided there.
@_spi(Fuzzing) public struct HTTPRoute: Sendable, Equatable {
    @_spi(Fuzzing) public enum Endpoint: Sendable, Hashable {
        case health
        case ready
        case metrics
        /// `/ws` or `/echo` as a plain request: explain why it was no upgrade.
        case upgradeRefusal
        /// `POST /v1/streams/{id}/events`; `stream` is the raw segment, checked later.
        case publish(stream: String)
        /// `GET /v1/streams/{id}`
        case snapshot(stream: String)
        /// `GET /v1/streams/{id}/insights`
        case insights(stream: String)
        /// Another method on a stream resource.
        case streamMethodNotAllowed
        /// A GET outside /v1: a browser file if `StaticFiles.file(for:)` has one for
        /// these segments, else not found.
        case staticFile(segments: [String])
        /// `GET /v1/streams`
        case streamList
        /// Anything under `/v1/orders`.
        case orders(OrdersEndpoint)
        case notFound
    }

    @_spi(Fuzzing) public enum OrdersEndpoint: Sendable, Hashable {
        /// `GET /v1/orders/dead-letters`
        case deadLetters
        /// `POST /v1/orders/dead-letters/{checkout}/{merchant}/redrive`
        case redrive(checkoutID: String, merchant: String)
        /// `POST /v1/orders/{checkout}/status`
        case status(checkoutID: String)
        case notFound
    }

    /// The request's method with HEAD read as GET (HEAD is GET without the body).
    @_spi(Fuzzing) public var method: HTTPMethod
    /// The path's non-empty segments (the query left out).
    @_spi(Fuzzing) public var segments: [String]
    @_spi(Fuzzing) public var endpoint: Endpoint

    @_spi(Fuzzing) public init(method requestMethod: HTTPMethod, uri: String) {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let method = requestMethod == .HEAD ? .GET : requestMethod
        self.method = method
        self.segments = segments
        self.endpoint = Self.endpoint(method: method, segments: segments)
    }

    private static func endpoint(method: HTTPMethod, segments: [String]) -> Endpoint {
        if segments == ["healthz"], method == .GET { return .health }
        if segments == ["readyz"], method == .GET { return .ready }
        if segments == ["metrics"], method == .GET { return .metrics }
        if segments == ["ws"] || segments == ["echo"] { return .upgradeRefusal }
        if segments.count >= 3, segments.count <= 4, segments[0] == "v1", segments[1] == "streams" {
            let id = segments[2]
            switch (method, segments.count == 4 ? segments[3] : nil) {
            case (.POST, "events"): return .publish(stream: id)
            case (.GET, nil): return .snapshot(stream: id)
            case (.GET, "insights"): return .insights(stream: id)
            case (_, nil), (_, "events"), (_, "insights"): return .streamMethodNotAllowed
            default: break
            }
        }
        // Browser files live outside /v1 (sdk, static, watch, studio, ops): a GET there that
        // names no file matches nothing below either.
        if method == .GET, segments.first != "v1" { return .staticFile(segments: segments) }
        if segments == ["v1", "streams"], method == .GET { return .streamList }
        if segments.first == "v1", segments.dropFirst().first == "orders" {
            return .orders(ordersEndpoint(method: method, segments: Array(segments.dropFirst(2))))
        }
        return .notFound
    }

    private static func ordersEndpoint(method: HTTPMethod, segments: [String]) -> OrdersEndpoint {
        switch (method, segments.count) {
        case (.GET, 1) where segments[0] == "dead-letters":
            return .deadLetters
        case (.POST, 4) where segments[0] == "dead-letters" && segments[3] == "redrive":
            return .redrive(checkoutID: segments[1], merchant: segments[2])
        case (.POST, 2) where segments[1] == "status":
            return .status(checkoutID: segments[0])
        default:
            return .notFound
        }
    }

    /// An integer query parameter (`?limit=50`); nil when absent or not an integer.
    @_spi(Fuzzing) public static func queryInteger(_ name: String, in uri: String) -> Int? {
        guard let query = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name { return Int(parts[1]) }
        }
        return nil
    }
}
