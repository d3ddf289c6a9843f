import Foundation
import HarnessSupport
import HawkerOrders
import HawkerProtocol
@_spi(Fuzzing) import HawkerServer
import HawkerWebSocket
import NIOCore
import NIOEmbedded
import NIOHTTP1

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    resetTrapSignals()
    return 0
}

/// Raw bytes through NIO's HTTP/1 request decoder (as the gateway's pipeline has it); for
/// every request head, the gateway's decisions on it (`@_spi(Fuzzing)` in HawkerServer):
/// the upgrade policy, the WebSocket handshake checks, the refusal explanation for /ws
/// as plain HTTP, the HTTP route, the bearer token, the browser files, `?limit=`.
///
/// The same bytes also go to the fast upgrade path's scanner (`UpgradeRequestScanner`):
/// whatever it recognises, NIO's decoder must read as the same upgrade request (method,
/// target, version and every header in order) ending at the same byte, and the bytes split in two reads (at a
/// position the first byte's high bits pick) must get the same answer as in one.
///
/// The first byte picks the configuration: bit 0 compression off, bit 1 /echo on,
/// bit 2 an Origin allow-list, bit 3 draining; bits 4–7 the split (in fifteenths of the
/// rest). The rest is the connection's bytes.
///
/// Must never trap. Also checked: an accepted upgrade names the endpoint's subprotocol
/// and answers the extension it negotiated; a handshake passes only with one 16-byte key,
/// version 13 and an accepted policy, and answers a 20-byte Sec-WebSocket-Accept; every
/// refusal is a JSON error body; a route does not change when its path is written
/// canonically.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPUpgrade(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let settings = input.byte()
    var configuration = GatewayConfiguration()
    configuration.compressionEnabled = settings & 0x01 == 0
    configuration.conformanceEcho = settings & 0x02 != 0
    if settings & 0x04 != 0 { configuration.allowedOrigins = ["https://shop.example", "http://localhost:8080"] }
    let draining = settings & 0x08 != 0
    let bytes = input.rest()
    let split = Int(settings >> 4) * bytes.count / 15
    let scanned = GatewayFuzzing.scanUpgradeRequest(bytes, split: split)
    require(scanned.consistent, "the scanner answers differently when the request comes in two reads")

    let channel = EmbeddedChannel()
    do {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
    } catch {
        fatalError("pipeline setup failed: \(error)")
    }
    // A decoding error ends the connection; the heads before it were still decoded.
    _ = try? channel.writeInbound(ByteBuffer(bytes: bytes))
    while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
        if case .head(let head) = part {
            check(head, configuration: configuration, draining: draining)
        }
    }
    _ = try? channel.finish(acceptAlreadyClosed: true)
    if let (head, length) = scanned.request {
        checkSameAsNIO(head, length: length, bytes: bytes)
    }
    return 0
}

/// A client's first WebSocket frame (masked): not HTTP, so NIO's decoder fails on it
/// unless it took the request before it as an upgrade and stopped there.
private let sentinel: [UInt8] = [0x81, 0x82, 0x12, 0x34, 0x56, 0x78, 0x69, 0x49]

/// What the scanner recognised, NIO's decoder reads as the same upgrade request, ending
/// at the same byte.
private func checkSameAsNIO(_ head: HTTPRequestHead, length: Int, bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self).debugDescription
    require(length <= bytes.count, "request length \(length) of \(bytes.count) bytes")
    let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
    let channel = EmbeddedChannel(handler: decoder)
    defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
    do {
        try channel.writeInbound(ByteBuffer(bytes: bytes + sentinel))
        guard case .head(let parsed) = try channel.readInbound(as: HTTPServerRequestPart.self),
            case .end = try channel.readInbound(as: HTTPServerRequestPart.self)
        else {
            fatalError("NIO does not read a complete request in what the scanner recognised: \(text)")
        }
        require(
            head.method == parsed.method && head.uri == parsed.uri && head.version == parsed.version
                && head.headers.map { [$0.name, $0.value] } == parsed.headers.map { [$0.name, $0.value] },
            "the scanner read \(head), NIO \(parsed)")
        let removed = channel.pipeline.syncOperations.removeHandler(decoder)
        channel.embeddedEventLoop.run()
        try removed.wait()
        var rest: [UInt8] = []
        while let buffer = try channel.readInbound(as: ByteBuffer.self) { rest += buffer.readableBytesView }
        require(rest == Array(bytes[length...]) + sentinel, "NIO's upgrade request ends elsewhere than the scanner's: \(text)")
    } catch {
        fatalError("NIO fails on what the scanner recognised (\(error)): \(text)")
    }
}

private let refusalStatuses: Set<UInt> = [400, 403, 404, 426, 503]

private func check(_ head: HTTPRequestHead, configuration: GatewayConfiguration, draining: Bool) {
    // The upgrade policy.
    let outcome = GatewayFuzzing.evaluateUpgrade(head, configuration: configuration, draining: draining)
    if let endpoint = outcome.endpoint {
        require(outcome.refusalStatus == nil, "an upgrade both accepted and refused")
        require(endpoint == "hawker" || (endpoint == "echo" && configuration.conformanceEcho), "endpoint \(endpoint)")
        require(!draining, "an upgrade accepted while draining")
        let protocols = outcome.headers["Sec-WebSocket-Protocol"]
        require(endpoint == "hawker" ? protocols == ["hawker.v1"] : protocols.isEmpty, "subprotocol answer \(protocols) for \(endpoint)")
        let offers = head.headers["sec-websocket-extensions"]
        let expected = configuration.compressionEnabled ? PerMessageDeflateParameters.negotiate(offers: offers) : nil
        require(outcome.compression == expected, "compression \(String(describing: outcome.compression)) for offers \(offers)")
        require(outcome.headers["Sec-WebSocket-Extensions"] == (expected.map { [$0.responseHeaderValue] } ?? []), "extension answer")
        if !configuration.allowedOrigins.isEmpty, let origin = head.headers["origin"].first {
            require(configuration.allowedOrigins.contains(origin), "Origin \(origin) let through")
        }
    } else {
        let status = outcome.refusalStatus?.code ?? 0
        require(refusalStatuses.contains(status), "refusal status \(status)")
        require(!(outcome.refusalCode ?? "").isEmpty && !(outcome.refusalMessage ?? "").isEmpty, "a refusal without code or message")
    }

    // The handshake (WebSocketUpgrader): key, version, policy, Sec-WebSocket-Accept.
    switch GatewayFuzzing.upgradeResponseHeaders(head, configuration: configuration, draining: draining) {
    case .success(let headers):
        require(outcome.endpoint != nil, "a handshake accepted that the policy refuses")
        let keys = head.headers["sec-websocket-key"]
        require(keys.count == 1 && head.headers["sec-websocket-version"] == ["13"], "handshake accepted with keys \(keys)")
        let accept = headers["Sec-WebSocket-Accept"]
        require(accept.count == 1 && Data(base64Encoded: accept[0])?.count == 20, "Sec-WebSocket-Accept \(accept)")
        require(headers["Upgrade"] == ["websocket"] && headers["Connection"] == ["upgrade"], "Upgrade/Connection answer")
    case .failure:
        break
    }

    // The route of the same head as a plain request.
    let route = HTTPRoute(method: head.method, uri: head.uri)
    require(route.method != .HEAD, "HEAD not read as GET")
    require(route.segments.allSatisfy { !$0.isEmpty && !$0.contains("/") }, "segments \(route.segments)")
    let canonical = "/" + route.segments.joined(separator: "/")
    let again = HTTPRoute(method: head.method, uri: canonical)
    require(again.endpoint == route.endpoint, "\(head.uri) routes to \(route.endpoint), \(canonical) to \(again.endpoint)")
    switch route.endpoint {
    case .upgradeRefusal:
        let refusal = GatewayFuzzing.upgradeRefusal(head, configuration: configuration, draining: draining)
        require(refusalStatuses.contains(refusal.status.code), "refusal status \(refusal.status)")
        guard let body = try? JSONParser.parse(refusal.body), let error = body["error"],
            error["code"]?.stringValue?.isEmpty == false, error["message"]?.stringValue != nil
        else {
            fatalError("refusal body is not a JSON error: \(String(buffer: refusal.body))")
        }
    case .publish(let stream), .snapshot(let stream), .insights(let stream):
        require(route.segments.count >= 3 && route.segments[2] == stream, "stream segment")
        _ = StreamID(stream)
    case .staticFile(let segments):
        if let file = GatewayFuzzing.staticFile(for: segments) {
            require(!file.contentType.isEmpty && file.etag.hasPrefix("\"") && file.etag.hasSuffix("\""), "file \(file)")
        }
    case .streamList, .orders(.deadLetters):
        if let limit = HTTPRoute.queryInteger("limit", in: head.uri) {
            _ = min(max(limit, 1), 1_000)
        }
    case .orders(.redrive(let checkoutID, let merchant)):
        require(!checkoutID.isEmpty && !merchant.isEmpty, "empty redrive segments")
    case .orders(.status(let checkoutID)):
        require(!checkoutID.isEmpty, "empty checkout segment")
    case .inventory(.list(let merchant)), .inventory(.update(let merchant)):
        require(route.segments.count == 4 && route.segments[2] == merchant, "merchant segment")
        if let after = HTTPRoute.queryText("after", in: head.uri) { _ = Identifier.isValid(after) }
    case .inventory(.product(let merchant, let product)):
        require(route.segments.count == 5 && route.segments[2] == merchant && route.segments[4] == product, "inventory segments")
    case .affiliateCodes(.read(let code)), .affiliateCodes(.register(let code)), .affiliateCodes(.revoke(let code)):
        require(route.segments.count == 3 && route.segments[2] == code, "code segment")
        _ = AffiliateCode.canonical(code)
    case .myOrderRequest(let checkoutID):
        require(route.method == .POST && route.segments == ["v1", "me", "orders", checkoutID, "requests"], "request segments \(route.segments)")
    case .earnings(let influencer):
        require(route.segments.count == 4 && route.segments[2] == influencer, "influencer segment")
        _ = influencer.removingPercentEncoding
    case .affiliateCodes(.list):
        require(route.segments == ["v1", "affiliate-codes"], "code list segments \(route.segments)")
    case .merchants(.read(let id)), .merchants(.register(let id)), .merchants(.remove(let id)):
        require(route.segments.count == 3 && route.segments[2] == id, "merchant segment")
        _ = Identifier.isValid(id)
    case .merchants(.list):
        require(route.segments == ["v1", "merchants"], "merchant list segments \(route.segments)")
    case .health, .ready, .metrics, .streamMethodNotAllowed, .orders(.notFound), .inventory(.methodNotAllowed), .affiliateCodes(.methodNotAllowed), .merchants(.methodNotAllowed),
        .earningsMethodNotAllowed, .myOrders, .myOrdersMethodNotAllowed, .notFound:
        break
    }

    // Authorization: Bearer.
    if let token = GatewayFuzzing.bearerToken(head.headers) {
        require(!token.isEmpty && token.first != " " && token.last != " ", "bearer token '\(token)'")
    }
}
