import NIOHTTP1

import struct Foundation.URL

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
        /// A merchant's stock, under `/v1/merchants/{merchant}/inventory`.
        case inventory(InventoryEndpoint)
        /// Influencer codes, under `/v1/affiliate-codes`.
        case affiliateCodes(AffiliateCodesEndpoint)
        /// Merchants registered at run time, `/v1/merchants` and `/v1/merchants/{id}`.
        case merchants(MerchantsEndpoint)
        /// `GET /v1/affiliates/{sub}/earnings`
        case earnings(influencer: String)
        /// `GET /v1/me/orders`: the token's own orders.
        case myOrders
        /// `POST /v1/me/orders/{checkout}/requests`: the buyer asks to cancel or return.
        case myOrderRequest(checkoutID: String)
        /// Another method on it.
        case myOrdersMethodNotAllowed
        /// Another method on it.
        case earningsMethodNotAllowed
        case notFound
    }

    @_spi(Fuzzing) public enum AffiliateCodesEndpoint: Sendable, Hashable {
        /// `GET /v1/affiliate-codes`
        case list
        /// `GET /v1/affiliate-codes/{code}`
        case read(code: String)
        /// `PUT /v1/affiliate-codes/{code}`
        case register(code: String)
        /// `DELETE /v1/affiliate-codes/{code}`
        case revoke(code: String)
        case methodNotAllowed
    }

    @_spi(Fuzzing) public enum MerchantsEndpoint: Sendable, Hashable {
        /// `GET /v1/merchants`
        case list
        /// `GET /v1/merchants/{id}`
        case read(id: String)
        /// `PUT /v1/merchants/{id}`
        case register(id: String)
        /// `DELETE /v1/merchants/{id}`
        case remove(id: String)
        case methodNotAllowed
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

    @_spi(Fuzzing) public enum InventoryEndpoint: Sendable, Hashable {
        /// `GET /v1/merchants/{merchant}/inventory`: a page of every tracked product.
        case list(merchant: String)
        /// `GET /v1/merchants/{merchant}/inventory/{product}`
        case product(merchant: String, product: String)
        /// `POST /v1/merchants/{merchant}/inventory`
        case update(merchant: String)
        case methodNotAllowed
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

    /// One path shape of the API: literal segments and `{parameters}`.
    private struct Rule {
        enum Segment: ExpressibleByStringLiteral {
            case literal(String)
            case parameter

            init(stringLiteral value: String) { self = value.hasPrefix("{") ? .parameter : .literal(value) }
        }

        var method: HTTPMethod
        var path: [Segment]
        /// The endpoint, from the path's parameters in order.
        var endpoint: @Sendable ([String]) -> Endpoint
        /// A request for this path with another method.
        var otherMethod: Endpoint

        init(_ method: HTTPMethod, _ path: [Segment], otherMethod: Endpoint = .notFound, _ endpoint: @escaping @Sendable ([String]) -> Endpoint) {
            self.method = method
            self.path = path
            self.otherMethod = otherMethod
            self.endpoint = endpoint
        }

        /// The parameters, when `segments` has this rule's shape.
        func parameters(of segments: [String]) -> [String]? {
            guard segments.count == path.count else { return nil }
            var parameters: [String] = []
            for (segment, expected) in zip(segments, path) {
                switch expected {
                case .literal(let literal): guard segment == literal else { return nil }
                case .parameter: parameters.append(segment)
                }
            }
            return parameters
        }
    }

    /// The API, one row per endpoint. Browser files are what a GET outside /v1 matches
    /// when no row does; `/ws` and `/echo` are upgrades, whatever the method.
    private static let rules: [Rule] = [
        Rule(.GET, ["healthz"]) { _ in .health },
        Rule(.GET, ["readyz"]) { _ in .ready },
        Rule(.GET, ["metrics"]) { _ in .metrics },
        Rule(.GET, ["v1", "streams"]) { _ in .streamList },
        Rule(.GET, ["v1", "streams", "{id}"], otherMethod: .streamMethodNotAllowed) { .snapshot(stream: $0[0]) },
        Rule(.POST, ["v1", "streams", "{id}", "events"], otherMethod: .streamMethodNotAllowed) { .publish(stream: $0[0]) },
        Rule(.GET, ["v1", "streams", "{id}", "insights"], otherMethod: .streamMethodNotAllowed) { .insights(stream: $0[0]) },
        Rule(.GET, ["v1", "orders", "dead-letters"], otherMethod: .orders(.notFound)) { _ in .orders(.deadLetters) },
        Rule(.POST, ["v1", "orders", "dead-letters", "{checkout}", "{merchant}", "redrive"], otherMethod: .orders(.notFound)) {
            .orders(.redrive(checkoutID: $0[0], merchant: $0[1]))
        },
        Rule(.POST, ["v1", "orders", "{checkout}", "status"], otherMethod: .orders(.notFound)) { .orders(.status(checkoutID: $0[0])) },
        Rule(.GET, ["v1", "merchants"], otherMethod: .merchants(.methodNotAllowed)) { _ in .merchants(.list) },
        Rule(.GET, ["v1", "merchants", "{merchant}"], otherMethod: .merchants(.methodNotAllowed)) { .merchants(.read(id: $0[0])) },
        Rule(.PUT, ["v1", "merchants", "{merchant}"], otherMethod: .merchants(.methodNotAllowed)) { .merchants(.register(id: $0[0])) },
        Rule(.DELETE, ["v1", "merchants", "{merchant}"], otherMethod: .merchants(.methodNotAllowed)) { .merchants(.remove(id: $0[0])) },
        Rule(.GET, ["v1", "merchants", "{merchant}", "inventory"], otherMethod: .inventory(.methodNotAllowed)) { .inventory(.list(merchant: $0[0])) },
        Rule(.POST, ["v1", "merchants", "{merchant}", "inventory"], otherMethod: .inventory(.methodNotAllowed)) { .inventory(.update(merchant: $0[0])) },
        Rule(.GET, ["v1", "merchants", "{merchant}", "inventory", "{product}"], otherMethod: .inventory(.methodNotAllowed)) {
            .inventory(.product(merchant: $0[0], product: $0[1]))
        },
        Rule(.GET, ["v1", "affiliates", "{sub}", "earnings"], otherMethod: .earningsMethodNotAllowed) { .earnings(influencer: $0[0]) },
        Rule(.GET, ["v1", "me", "orders"], otherMethod: .myOrdersMethodNotAllowed) { _ in .myOrders },
        Rule(.POST, ["v1", "me", "orders", "{checkout}", "requests"], otherMethod: .myOrdersMethodNotAllowed) { .myOrderRequest(checkoutID: $0[0]) },
        Rule(.GET, ["v1", "affiliate-codes"], otherMethod: .affiliateCodes(.methodNotAllowed)) { _ in .affiliateCodes(.list) },
        Rule(.GET, ["v1", "affiliate-codes", "{code}"], otherMethod: .affiliateCodes(.methodNotAllowed)) { .affiliateCodes(.read(code: $0[0])) },
        Rule(.PUT, ["v1", "affiliate-codes", "{code}"], otherMethod: .affiliateCodes(.methodNotAllowed)) { .affiliateCodes(.register(code: $0[0])) },
        Rule(.DELETE, ["v1", "affiliate-codes", "{code}"], otherMethod: .affiliateCodes(.methodNotAllowed)) { .affiliateCodes(.revoke(code: $0[0])) },
    ]

    private static func endpoint(method: HTTPMethod, segments: [String]) -> Endpoint {
        if segments == ["ws"] || segments == ["echo"] { return .upgradeRefusal }
        var otherMethod: Endpoint?
        for rule in rules {
            guard let parameters = rule.parameters(of: segments) else { continue }
            if rule.method == method { return rule.endpoint(parameters) }
            otherMethod = otherMethod ?? rule.otherMethod
        }
        if let otherMethod { return otherMethod }
        // Browser files live outside /v1 (sdk, static, watch, studio, ops).
        if method == .GET, segments.first != "v1" { return .staticFile(segments: segments) }
        if segments.first == "v1", segments.dropFirst().first == "orders" { return .orders(.notFound) }
        return .notFound
    }

    /// A query parameter's text (`?after=p-12`), percent-decoded; nil when absent.
    @_spi(Fuzzing) public static func queryText(_ name: String, in uri: String) -> String? {
        guard let query = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2, parts[0] == name { return String(parts[1]).removingPercentEncoding }
        }
        return nil
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
