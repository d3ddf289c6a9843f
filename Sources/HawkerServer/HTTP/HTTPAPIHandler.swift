import Foundation
import HawkerAuth
import HawkerCluster
import HawkerCommerce
import HawkerHub
import HawkerOrders
import HawkerProtocol
import HawkerWebSocket
import Logging
import NIOCore
import NIOHTTP1
import Prometheus

/// The plain HTTP side: health, readiness, metrics, the publish/read API, and the
/// explanation of refused WebSocket upgrades.
final class HTTPAPIHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOHTTPServerRequestFull
    typealias OutboundOut = HTTPServerResponsePart

    private let services: GatewayServices
    private let policy: UpgradePolicy
    /// Requests on this connection: pipelining lets one client send thousands in a read.
    private var requests: TokenBucket
    /// The client's address, for the log of failed logins.
    private var peer = "unknown"

    init(services: GatewayServices, policy: UpgradePolicy) {
        self.services = services
        self.policy = policy
        self.requests = TokenBucket(ratePerSecond: services.configuration.httpRequestsPerSecond, burst: services.configuration.httpRequestBurst)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress?.description ?? "unknown"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let request = unwrapInboundIn(data)
        guard requests.take(now: context.eventLoop.now) else {
            var response = HTTPResponse.error(
                .tooManyRequests, .rateLimited, "more than \(services.configuration.httpRequestsPerSecond) requests per second on one connection"
            )
            response.headers.append(("Retry-After", "1"))
            return write(response, keepAlive: false, headOnly: false, context: context)
        }
        let keepAlive = request.head.isKeepAlive
        // HEAD is GET without the body (RFC 9110 §9.3.2).
        let headOnly = request.head.method == .HEAD
        route(request, context: context)
            .assumeIsolated()
            .whenSuccess { [self] response in
                write(response, keepAlive: keepAlive, headOnly: headOnly, context: context)
            }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Pipelined requests from a client that does not read its responses.
        if event is OutboundBudgetExceeded {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A refused upgrade arrives here first, then the request itself, which is
        // answered with the reason (`upgradeRefusal`).
        if error is WebSocketUpgrader.HandshakeError { return }
        // Malformed HTTP: NIO's error handler answers 400; we only drop the connection.
        context.close(promise: nil)
    }

    // MARK: - Routing

    private func route(_ request: NIOHTTPServerRequestFull, context: ChannelHandlerContext) -> EventLoopFuture<HTTPResponse> {
        let loop = context.eventLoop
        switch HTTPRoute(method: request.head.method, uri: request.head.uri).endpoint {
        case .health:
            return loop.makeSucceededFuture(.json(.ok, #"{"status":"ok"}"#))
        case .ready:
            if services.connections.isDraining { return loop.makeSucceededFuture(.json(.serviceUnavailable, #"{"status":"draining"}"#)) }
            // A cluster node without Redis keeps its viewers but can store nothing.
            if let cluster = services.cluster, !cluster.isRedisAvailable {
                return loop.makeSucceededFuture(.json(.serviceUnavailable, #"{"status":"redis_unavailable"}"#))
            }
            return loop.makeSucceededFuture(.json(.ok, #"{"status":"ready"}"#))
        case .metrics:
            // Checkout volume and dead letters are not for everyone: an admin token here,
            // or the open listener on `metrics.port`.
            let metrics = services.metrics
            return bearer(request, loop: loop) { principal in
                guard principal.role == .admin else {
                    return loop.makeSucceededFuture(.error(.forbidden, .forbidden, "metrics are for admins (or scrape metrics.port)"))
                }
                return loop.makeSucceededFuture(.metrics(metrics))
            }
        case .upgradeRefusal:
            return loop.makeSucceededFuture(Self.upgradeRefusal(request.head, policy: policy))
        case .publish(let id):
            return authorized(request, stream: id, permission: .publish, loop: loop) { [services] stream, principal in
                let creator: StreamCreator = principal.role == .admin ? .gateway : .user(principal.subject)
                return Self.publish(request.body, to: stream, creator: creator, services: services, loop: loop)
            }
        case .snapshot(let id):
            return authorized(request, stream: id, permission: .read, loop: loop) { [services] stream, _ in
                services.streams.snapshot(of: stream).map { snapshot in
                    guard let snapshot else {
                        return .error(.notFound, .streamNotFound, "stream '\(stream)' does not exist")
                    }
                    return .json(.ok, Self.snapshotJSON(stream: stream, snapshot: snapshot))
                }
            }
        case .insights(let id):
            // The host's numbers: its own streams' hosts and admins only.
            return authorized(request, stream: id, permission: .publish, loop: loop) { [services] stream, _ in
                services.streams.insights(of: stream).map { insights in
                    guard let insights else {
                        return .error(.notFound, .streamNotFound, "stream '\(stream)' does not exist")
                    }
                    var body = ByteBuffer()
                    body.writeString(#"{"stream":"\#(stream)","#)
                    body.writeImmutableBuffer(insights.getSlice(at: insights.readerIndex + 1, length: insights.readableBytes - 1)!)
                    return .json(.ok, body)
                }
            }
        case .streamMethodNotAllowed:
            return loop.makeSucceededFuture(.error(.methodNotAllowed, code: "method_not_allowed", "method not allowed"))
        case .staticFile(let segments):
            if let file = services.webFiles.file(for: segments) {
                return loop.makeSucceededFuture(.file(file, ifNoneMatch: request.head.headers.first(name: "if-none-match")))
            }
            return loop.makeSucceededFuture(.error(.notFound, code: "not_found", "no such endpoint"))
        case .streamList:
            // The busiest streams, for operators (the ops dashboard).
            let services = self.services
            return bearer(request, loop: loop) { principal in
                guard principal.role == .admin else { return loop.makeSucceededFuture(.error(.forbidden, .forbidden, "the stream list is for admins")) }
                let limit = HTTPRoute.queryInteger("limit", in: request.head.uri).map { min(max($0, 1), 1_000) } ?? 20
                return services.streams.busiestStreams(limit: limit, on: loop).map { streams in
                    .json(
                        .ok,
                        JSONText.encode([
                            "streams": .array(
                                streams.map {
                                    ["stream": .string($0.stream.rawValue), "subscribers": .int(Int64($0.subscribers)), "events": .int(Int64($0.events))]
                                })
                        ]))
                }
            }
        case .orders(let endpoint):
            return orders(request, endpoint: endpoint, loop: loop)
        case .inventory(let endpoint):
            return inventory(request, endpoint: endpoint, loop: loop)
        case .affiliateCodes(let endpoint):
            return affiliateCodes(request, endpoint: endpoint, loop: loop)
        case .merchants(let endpoint):
            return merchants(request, endpoint: endpoint, loop: loop)
        case .earnings(let raw):
            // Path segments come percent-encoded: a sub may hold any character.
            let influencer = raw.removingPercentEncoding ?? raw
            guard let orders = services.orders else {
                return loop.makeSucceededFuture(.error(.notFound, code: "not_found", "this gateway takes no checkouts"))
            }
            let services = self.services
            return bearer(request, loop: loop) { principal in
                guard AffiliateDesk.may(principal, readEarningsOf: influencer) else {
                    return loop.makeSucceededFuture(.error(.forbidden, .forbidden, "an influencer's earnings are for that influencer (its token's sub) and admins"))
                }
                let uri = request.head.uri
                // Read under the token's own sub (byte for byte what its lines were stored under).
                let reader = principal.role == .admin ? influencer : principal.subject
                return loop.makeFutureWithTask {
                    await AffiliateDesk.earnings(
                        of: reader, query: { HTTPRoute.queryText($0, in: uri) }, orders: orders, now: services.streams.now,
                        logger: services.logger)
                }
            }
        case .earningsMethodNotAllowed, .myOrdersMethodNotAllowed:
            return loop.makeSucceededFuture(.error(.methodNotAllowed, code: "method_not_allowed", "method not allowed"))
        case .myOrders:
            guard let orders = services.orders else {
                return loop.makeSucceededFuture(.error(.notFound, code: "not_found", "this gateway takes no checkouts"))
            }
            let logger = services.logger
            return bearer(request, loop: loop) { principal in
                guard principal.role != .orderService else {
                    return loop.makeSucceededFuture(.error(.forbidden, .forbidden, "an order service has no orders of its own; see /v1/orders"))
                }
                let uri = request.head.uri
                let after = HTTPRoute.queryText("after", in: uri)
                guard after.map(Identifier.isValid) ?? true else {
                    return loop.makeSucceededFuture(.error(.badRequest, .badRequest, "after is the checkout_id of a page's last order"))
                }
                let limit = min(max(HTTPRoute.queryInteger("limit", in: uri) ?? 20, 1), ClientCommand.maxHistoryPage)
                return loop.makeFutureWithTask {
                    do {
                        return .json(.ok, JSONText.encode(.object(try await orders.history(of: principal.subject, after: after, limit: limit))))
                    } catch {
                        logger.error("could not read a buyer's orders", metadata: ["error": "\(error)"])
                        return .error(.serviceUnavailable, .unavailable, "the outbox could not be read")
                    }
                }
            }
        case .myOrderRequest(let checkoutID):
            guard let orders = services.orders else {
                return loop.makeSucceededFuture(.error(.notFound, code: "not_found", "this gateway takes no checkouts"))
            }
            return bearer(request, loop: loop) { principal in
                guard principal.role != .orderService, !principal.isAnonymous else {
                    return loop.makeSucceededFuture(.error(.forbidden, .forbidden, "a buyer asks about their own orders: an order service answers them (order.update)"))
                }
                guard let fields = Self.object(request.body) else {
                    return loop.makeSucceededFuture(
                        .error(.badRequest, .badRequest, "send a JSON object {\"merchant\", \"request_id\", \"kind\": \"cancel\"|\"return\", \"items\"?, \"reason\"?}"))
                }
                let asked: OrderRequest
                do throws(InvalidOrderUpdate) {
                    asked = try OrderRequest.parse(checkoutID: checkoutID, fields: fields)
                } catch {
                    return loop.makeSucceededFuture(.error(.badRequest, .badRequest, error.message))
                }
                return loop.makeFutureWithTask {
                    switch await orders.request(asked, buyer: principal.subject) {
                    case .success(let stored): .json(.accepted, JSONText.encode(.object(OrderDesk.requestReply(stored))))
                    case .failure(let refusal):
                        switch refusal.code {
                        case .unknownCheckout: .error(.notFound, refusal.code, refusal.message)
                        case .unavailable: .error(.serviceUnavailable, refusal.code, refusal.message)
                        default: .error(.conflict, refusal.code, refusal.message)
                        }
                    }
                }
            }
        case .notFound:
            return loop.makeSucceededFuture(.error(.notFound, code: "not_found", "no such endpoint"))
        }
    }

    /// `/v1/orders/...`: dead letters and their re-drive (admins), status updates from
    /// merchants whose backend is a webhook (order-service tokens).
    private func orders(_ request: NIOHTTPServerRequestFull, endpoint: HTTPRoute.OrdersEndpoint, loop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        guard let desk = services.orders else {
            return loop.makeSucceededFuture(.error(.notFound, code: "not_found", "this gateway relays no orders"))
        }
        switch endpoint {
        case .deadLetters:
            return bearer(request, loop: loop) { principal in
                guard principal.role == .admin else { return loop.makeSucceededFuture(.error(.forbidden, .forbidden, "dead letters are for admins")) }
                let limit = HTTPRoute.queryInteger("limit", in: request.head.uri).map { min(max($0, 1), 1_000) } ?? 100
                return loop.makeFutureWithTask {
                    guard let letters = try? await desk.deadLetters(limit: limit) else {
                        return .error(.serviceUnavailable, .unavailable, "the outbox could not be read")
                    }
                    return .json(.ok, JSONText.encode(["dead_letters": .array(letters.map(Self.deadLetterJSON))]))
                }
            }
        case .redrive(let checkoutID, let merchant):
            return bearer(request, loop: loop) { principal in
                guard principal.role == .admin else { return loop.makeSucceededFuture(.error(.forbidden, .forbidden, "re-driving is for admins")) }
                // A supplier's shipment is named by its seller too (`?seller=`).
                let seller = HTTPRoute.queryText("seller", in: request.head.uri) ?? merchant
                guard Identifier.isValid(seller) else {
                    return loop.makeSucceededFuture(.error(.badRequest, .badRequest, "'seller' is a merchant id: 1-64 of [A-Za-z0-9_.:-]"))
                }
                let party = Party(merchant: merchant, seller: seller)
                return loop.makeFutureWithTask {
                    switch try? await desk.redrive(checkoutID: checkoutID, party: party) {
                    case true?: return .json(.accepted, #"{"redriven":true}"#)
                    case false?:
                        let shipment = party.isShipment ? " shipping for '\(party.seller)'" : ""
                        return .error(.notFound, code: "not_found", "no dead letter for checkout '\(checkoutID)' and merchant '\(merchant)'\(shipment)")
                    case nil: return .error(.serviceUnavailable, .unavailable, "the outbox could not be written")
                    }
                }
            }
        case .status(let checkoutID):
            return bearer(request, loop: loop) { principal in
                guard principal.role == .orderService, let merchant = principal.merchant else {
                    return loop.makeSucceededFuture(.error(.forbidden, .forbidden, "status updates come from order services: role order_service with a merchant claim"))
                }
                guard let fields = Self.object(request.body) else {
                    return loop.makeSucceededFuture(.error(.badRequest, .badRequest, "send a JSON object {\"status\": ..., \"reference\"?, \"tracking\"?, \"note\"?}"))
                }
                let update: OrderStatusUpdate
                do throws(InvalidOrderUpdate) {
                    update = try OrderStatusUpdate.parse(checkoutID: checkoutID, fields: fields)
                } catch {
                    return loop.makeSucceededFuture(.error(.badRequest, .badRequest, error.message))
                }
                return loop.makeFutureWithTask {
                    switch await desk.update(update, merchant: merchant) {
                    case .success: .json(.accepted, #"{"accepted":true}"#)
                    case .failure(.unknownCheckout): .error(.notFound, .unknownCheckout, "no checkout '\(checkoutID)' has an order of merchant '\(merchant)'")
                    case .failure(.invalid(let message)): .error(.badRequest, .badRequest, message)
                    case .failure(.unavailable): .error(.serviceUnavailable, .unavailable, "the update could not be recorded; send it again")
                    }
                }
            }
        case .notFound:
            return loop.makeSucceededFuture(.error(.notFound, code: "not_found", "no such endpoint"))
        }
    }

    /// `/v1/merchants/{merchant}/inventory`: a merchant's back office reads and sets its
    /// stock (its order-service token, or an admin's).
    private func inventory(_ request: NIOHTTPServerRequestFull, endpoint: HTTPRoute.InventoryEndpoint, loop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        guard let desk = services.inventory else {
            return loop.makeSucceededFuture(.error(.notFound, code: "not_found", "this gateway keeps no inventory"))
        }
        let merchant: String
        switch endpoint {
        case .methodNotAllowed:
            return loop.makeSucceededFuture(.error(.methodNotAllowed, code: "method_not_allowed", "method not allowed"))
        case .list(let name), .product(let name, _), .update(let name):
            merchant = name
        }
        guard Identifier.isValid(merchant) else {
            return loop.makeSucceededFuture(.error(.badRequest, .badRequest, "a merchant id is 1-64 of [A-Za-z0-9_.:-], starting alphanumeric"))
        }
        return bearer(request, loop: loop) { principal in
            guard InventoryDesk.may(principal, manage: merchant) else {
                return loop.makeSucceededFuture(.error(.forbidden, .forbidden, "a merchant's stock is for its order service (role order_service, merchant claim) or an admin"))
            }
            switch endpoint {
            case .list:
                let after = HTTPRoute.queryText("after", in: request.head.uri)
                let limit = HTTPRoute.queryInteger("limit", in: request.head.uri) ?? 100
                return loop.makeSucceededFuture(.json(.ok, JSONText.encode(desk.page(merchant: merchant, after: after, limit: limit))))
            case .product(_, let product):
                guard Identifier.isValid(product) else {
                    return loop.makeSucceededFuture(.error(.badRequest, .badRequest, "a product id is 1-64 of [A-Za-z0-9_.:-], starting alphanumeric"))
                }
                return loop.makeSucceededFuture(.json(.ok, JSONText.encode(desk.levels(merchant: merchant, products: [product]))))
            case .update:
                guard let fields = Self.object(request.body) else {
                    return loop.makeSucceededFuture(.error(.badRequest, .badRequest, "send a JSON object {\"items\": [{product, variant?, on_hand | available | adjust}]}"))
                }
                let update: InventoryUpdate
                do throws(InvalidInventoryUpdate) {
                    update = try InventoryUpdate.parse(fields)
                } catch {
                    return loop.makeSucceededFuture(.error(.badRequest, .badRequest, error.message))
                }
                return loop.makeFutureWithTask {
                    switch await desk.apply(update, merchant: merchant) {
                    case .success(let levels): return .json(.ok, JSONText.encode(levels))
                    case .failure(let refusal): return .error(.conflict, refusal.code, refusal.message)
                    }
                }
            case .methodNotAllowed:
                return loop.makeSucceededFuture(.error(.methodNotAllowed, code: "method_not_allowed", "method not allowed"))
            }
        }
    }

    /// `/v1/affiliate-codes`: influencer codes, registered by admins and by merchants for
    /// their own products.
    private func affiliateCodes(
        _ request: NIOHTTPServerRequestFull, endpoint: HTTPRoute.AffiliateCodesEndpoint, loop: any EventLoop
    ) -> EventLoopFuture<HTTPResponse> {
        guard let desk = services.affiliates else {
            return loop.makeSucceededFuture(.error(.notFound, code: "not_found", "this gateway takes no checkouts"))
        }
        if endpoint == .methodNotAllowed {
            return loop.makeSucceededFuture(.error(.methodNotAllowed, code: "method_not_allowed", "method not allowed"))
        }
        let now = services.streams.now
        return bearer(request, loop: loop) { principal in
            guard let registrar = AffiliateDesk.registrar(principal) else { return loop.makeSucceededFuture(AffiliateDesk.forbidden) }
            switch endpoint {
            case .list:
                let uri = request.head.uri
                return loop.makeSucceededFuture(
                    desk.list(
                        owner: HTTPRoute.queryText("owner", in: uri), after: HTTPRoute.queryText("after", in: uri),
                        limit: HTTPRoute.queryInteger("limit", in: uri) ?? 100, by: registrar))
            case .read(let code):
                return loop.makeSucceededFuture(desk.read(code, by: registrar))
            case .register(let code):
                let body = Self.object(request.body)
                return loop.makeFutureWithTask { await desk.register(code, body: body, by: registrar, now: now) }
            case .revoke(let code):
                return loop.makeFutureWithTask { await desk.revoke(code, by: registrar, now: now) }
            case .methodNotAllowed:
                return loop.makeSucceededFuture(.error(.methodNotAllowed, code: "method_not_allowed", "method not allowed"))
            }
        }
    }

    /// `/v1/merchants`: merchants registered at run time, by admins.
    private func merchants(_ request: NIOHTTPServerRequestFull, endpoint: HTTPRoute.MerchantsEndpoint, loop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        guard let desk = services.merchants else {
            return loop.makeSucceededFuture(.error(.notFound, code: "not_found", "this gateway relays no orders"))
        }
        if endpoint == .methodNotAllowed {
            return loop.makeSucceededFuture(.error(.methodNotAllowed, code: "method_not_allowed", "method not allowed"))
        }
        let now = services.streams.now
        return bearer(request, loop: loop) { principal in
            if case .read(let id) = endpoint { return loop.makeSucceededFuture(desk.read(id, by: principal)) }
            guard principal.role == .admin else { return loop.makeSucceededFuture(MerchantDesk.forbidden) }
            switch endpoint {
            case .list:
                let uri = request.head.uri
                return loop.makeSucceededFuture(desk.list(after: HTTPRoute.queryText("after", in: uri), limit: HTTPRoute.queryInteger("limit", in: uri) ?? 100))
            case .register(let id):
                let body = Self.object(request.body)
                return loop.makeFutureWithTask { await desk.register(id, body: body, now: now) }
            case .remove(let id):
                return loop.makeFutureWithTask { await desk.remove(id, now: now) }
            case .read, .methodNotAllowed:
                return loop.makeSucceededFuture(.error(.methodNotAllowed, code: "method_not_allowed", "method not allowed"))
            }
        }
    }

    /// A request body that is a JSON object, nested at most 8 deep (a merchant's update).
    private static func object(_ body: ByteBuffer?) -> [String: JSONValue]? {
        guard let body, JSONDepthScanner.depthIsWithin(body.readableBytesView, limit: 8) else { return nil }
        return (try? JSONParser.parse(body, maxDepth: 8))?.objectValue
    }

    private static func deadLetterJSON(_ delivery: OutboxDelivery) -> JSONValue {
        [
            "checkout_id": .string(delivery.checkoutID), "merchant": .string(delivery.merchant), "seller": .string(delivery.seller),
            "kind": .string(delivery.isShipment ? "shipment" : "sale"), "stream": .string(delivery.stream.rawValue),
            "buyer": .string(delivery.buyer), "attempts": .int(Int64(delivery.attempts)),
            "last_error": delivery.lastError.map { .string($0) } ?? .null, "created_at": .int(delivery.createdAt),
        ]
    }

    /// Verifies the bearer token, then runs `body`.
    private func bearer(
        _ request: NIOHTTPServerRequestFull, loop: any EventLoop, _ body: @escaping @Sendable (Principal) -> EventLoopFuture<HTTPResponse>
    ) -> EventLoopFuture<HTTPResponse> {
        principal(of: request, anonymousReader: false, loop: loop).flatMap { result in
            switch result {
            case .failure(let refusal): loop.makeSucceededFuture(refusal.response)
            case .success(let principal): body(principal)
            }
        }
    }

    private struct Refusal: Error {
        var response: HTTPResponse
    }

    /// Who sends `request`: its bearer token verified (a refused one logged with the
    /// peer), or an anonymous reader where allowed; refused past the user's HTTP quota.
    private func principal(of request: NIOHTTPServerRequestFull, anonymousReader: Bool, loop: any EventLoop) -> EventLoopFuture<Result<Principal, Refusal>> {
        let services = self.services
        let peer = self.peer
        guard let token = request.head.headers.bearerToken else {
            if anonymousReader { return loop.makeSucceededFuture(.success(.anonymous(session: "http"))) }
            return loop.makeSucceededFuture(.failure(Refusal(response: .error(.unauthorized, .unauthorized, "send Authorization: Bearer <token>"))))
        }
        let verified = services.verifyNow(token).map { loop.makeSucceededFuture($0) } ?? loop.makeFutureWithTask { await services.verify(token) }
        return verified.map { result in
            switch result {
            case .failure(let error):
                services.loginFailed(error, peer: peer, over: "http")
                return .failure(Refusal(response: .error(.unauthorized, error.code, error.message)))
            case .success(let principal):
                if let refusal = Self.overQuota(principal, services: services) { return .failure(Refusal(response: refusal)) }
                return .success(principal)
            }
        }
    }

    /// 429 when the token's user has spent its HTTP request quota (every connection of
    /// it together); anonymous readers are bounded per connection only.
    private static func overQuota(_ principal: Principal, services: GatewayServices) -> HTTPResponse? {
        guard !principal.isAnonymous, let wait = services.quotas.take(.httpRequests, by: principal.subject) else { return nil }
        let rate = services.quotas.limits.httpRequestsPerSecond
        let perSecond = rate >= 1 && rate == rate.rounded() ? "\(Int(rate))" : "\(rate)"
        var response = HTTPResponse.error(.tooManyRequests, .rateLimited, "at most \(perSecond) requests per second per user")
        response.headers.append(("Retry-After", "\(max(1, (wait + 999) / 1_000))"))
        return response
    }

    static func upgradeRefusal(_ head: HTTPRequestHead, policy: UpgradePolicy) -> HTTPResponse {
        guard head.headers[canonicalForm: "upgrade"].contains(where: { $0.lowercased() == "websocket" }) else {
            return .error(.upgradeRequired, code: "upgrade_required", "connect with a WebSocket client (subprotocol hawker.v1)")
        }
        // RFC 6455 §4.4: the versions we speak, with 426.
        guard head.headers["sec-websocket-version"] == ["13"] else {
            var response = HTTPResponse.error(.upgradeRequired, code: "unsupported_version", "this server speaks WebSocket version 13")
            response.headers.append(("Sec-WebSocket-Version", "13"))
            return response
        }
        switch policy.evaluate(head) {
        case .failure(let refusal):
            return .error(refusal.status, code: refusal.code, refusal.message)
        case .success:
            return .error(.badRequest, code: "bad_request", "invalid WebSocket handshake (RFC 6455 §4.2.1)")
        }
    }

    /// Checks the stream id and the bearer token, then runs `body`.
    private func authorized(
        _ request: NIOHTTPServerRequestFull,
        stream rawID: String,
        permission: Permission,
        loop: any EventLoop,
        _ body: @escaping @Sendable (StreamID, Principal) -> EventLoopFuture<HTTPResponse>
    ) -> EventLoopFuture<HTTPResponse> {
        guard let stream = StreamID(rawID) else {
            return loop.makeSucceededFuture(.error(.badRequest, .invalidStream, "stream ids are 1-64 characters of [A-Za-z0-9_.-], starting alphanumeric"))
        }
        let anonymousReader = services.configuration.anonymousViewers && permission == .read
        return principal(of: request, anonymousReader: anonymousReader, loop: loop).flatMap { result in
            switch result {
            case .failure(let refusal):
                return loop.makeSucceededFuture(refusal.response)
            case .success(let principal):
                guard principal.may(permission, on: stream) else {
                    return loop.makeSucceededFuture(.error(.forbidden, .forbidden, "your token does not allow this on stream '\(stream)'"))
                }
                return body(stream, principal)
            }
        }
    }

    private static func publish(
        _ body: ByteBuffer?, to stream: StreamID, creator: StreamCreator, services: GatewayServices, loop: any EventLoop
    ) -> EventLoopFuture<HTTPResponse> {
        // The same parser as WebSocket commands: one reading of numbers for every client.
        guard let body, JSONDepthScanner.depthIsWithin(body.readableBytesView, limit: ClientCommand.maxDepth),
            let object = (try? JSONParser.parse(body, maxDepth: ClientCommand.maxDepth))?.objectValue,
            let kind = object["kind"]?.stringValue
        else {
            return loop.makeSucceededFuture(.error(.badRequest, .badRequest, "send a JSON object {\"kind\": ..., \"data\": {...}}"))
        }
        let draft: EventDraft
        do {
            draft = try EventDraft(kindName: kind, data: object["data"] == .null ? nil : object["data"])
        } catch {
            return loop.makeSucceededFuture(.error(.badRequest, error.code, error.message))
        }
        return services.streams.publish(draft, to: stream, creator: creator).hop(to: loop)
            .map { receipt in
                .json(.created, #"{"stream":"\#(stream)","epoch":"\#(receipt.position.epoch)","seq":\#(receipt.position.seq),"ts":\#(receipt.timestamp)}"#)
            }
            .recover { error in
                let reply = ServerMessage.ErrorReply(failure: error, re: nil, stream: stream)
                switch reply.code {
                case .internalError: return .error(.serviceUnavailable, reply.code, reply.message)
                case .streamNotFound: return .error(.notFound, reply.code, reply.message)
                case .limitReached: return .error(.conflict, reply.code, reply.message)
                case .quotaExceeded: return .error(.tooManyRequests, reply.code, reply.message)
                case .forbidden: return .error(.forbidden, reply.code, reply.message)
                default: return .error(.unprocessableEntity, reply.code, reply.message)
                }
            }
    }

    private static func snapshotJSON(stream: StreamID, snapshot: StreamSnapshot) -> ByteBuffer {
        var body = ByteBuffer()
        body.writeString(#"{"stream":"\#(stream)","epoch":"\#(snapshot.position.epoch)","seq":\#(snapshot.position.seq),"#)
        if let archivedAt = snapshot.archivedAt { body.writeString(#""archived_at":\#(archivedAt),"#) }
        body.writeString(#""state":"#)
        body.writeImmutableBuffer(snapshot.stateJSON)
        body.writeString("}")
        return body
    }

    // MARK: - Output

    private func write(_ response: HTTPResponse, keepAlive: Bool, headOnly: Bool, context: ChannelHandlerContext) {
        response.write(to: context, keepAlive: keepAlive, headOnly: headOnly)
    }
}

@available(*, unavailable)
extension HTTPAPIHandler: Sendable {}
