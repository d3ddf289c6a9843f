import Crypto
import Foundation
import HawkerWebSocket
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOWebSocket

/// The HTTP → WebSocket upgrade (RFC 6455 §4.2).
///
/// NIO's `NIOWebSocketServerUpgrader` always installs its per-frame encoder, which cannot
/// be removed; Hawker writes ready-made frames (one buffer shared by all viewers of a
/// broadcast), so it performs the handshake itself and installs only NIO's decoder.
struct WebSocketUpgrader: HTTPServerProtocolUpgrader, Sendable {
    let supportedProtocol = "websocket"
    // Names listed here must also appear in `Connection`; the key and version are checked below.
    let requiredUpgradeHeaders: [String] = []

    let policy: UpgradePolicy
    let services: GatewayServices

    private static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    enum HandshakeError: Error {
        case invalidKey
        case unsupportedVersion
        case refused
    }

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        channel.eventLoop.makeCompletedFuture {
            try Self.responseHeaders(for: upgradeRequest, policy: policy, initialResponseHeaders: initialResponseHeaders)
        }
    }

    /// The 101 response's headers, after checking the key, the version and the policy.
    static func responseHeaders(for upgradeRequest: HTTPRequestHead, policy: UpgradePolicy, initialResponseHeaders: HTTPHeaders) throws(HandshakeError) -> HTTPHeaders {
        try accept(upgradeRequest, policy: policy, initialResponseHeaders: initialResponseHeaders).headers
    }

    /// The 101 response's headers and what the connection becomes, after checking the key,
    /// the version and the policy.
    static func accept(
        _ upgradeRequest: HTTPRequestHead, policy: UpgradePolicy, initialResponseHeaders: HTTPHeaders
    ) throws(HandshakeError) -> (headers: HTTPHeaders, decision: UpgradePolicy.Decision) {
        let keys = upgradeRequest.headers["sec-websocket-key"]
        guard keys.count == 1, let key = keys.first, Data(base64Encoded: key)?.count == 16 else { throw HandshakeError.invalidKey }
        guard upgradeRequest.headers["sec-websocket-version"] == ["13"] else { throw HandshakeError.unsupportedVersion }
        guard case .success(let decision) = policy.evaluate(upgradeRequest) else { throw HandshakeError.refused }
        var headers = initialResponseHeaders
        headers.add(contentsOf: decision.headers)
        let digest = Insecure.SHA1.hash(data: Data((key + Self.guid).utf8))
        headers.replaceOrAdd(name: "Upgrade", value: "websocket")
        headers.replaceOrAdd(name: "Connection", value: "upgrade")
        headers.add(name: "Sec-WebSocket-Accept", value: Data(digest).base64EncodedString())
        return (headers, decision)
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        let channel = context.channel
        return channel.eventLoop.makeCompletedFuture {
            try install(on: channel, decision: try policy.evaluate(upgradeRequest).get())
        }
    }

    /// Puts the WebSocket layer and the session (or the conformance echo) at the end of
    /// `channel`'s pipeline, once the 101 response is written.
    func install(on channel: any Channel, decision: UpgradePolicy.Decision) throws {
        let pipeline = channel.pipeline.syncOperations
        // It reads the frames itself: no frame decoder handler per connection.
        let connection = WebSocketConnectionHandler(configuration: services.configuration.webSocket, compression: decision.compression)
        try pipeline.addHandler(connection)
        // Broadcasts leave from the handler nearest the socket, so that they pass
        // nothing else: the budget handler (first; `ViewerDelivery` holds broadcasts
        // to the budget itself), which sends them to the socket directly when it can,
        // or with TLS the connection handler's own context, right above TLS. Another
        // handler of our own there would cost every idle connection ~0.2 KiB.
        let tls = (try? pipeline.handler(type: NIOSSLServerHandler.self)) != nil
        let budget = try pipeline.handler(type: OutboundBudgetHandler.self)
        if tls {
            connection.writeDirectly(from: try pipeline.context(handler: connection))
        } else {
            connection.writeDirectly(through: budget)
        }
        let framer = WebSocketFramer(
            compression: decision.compression,
            deflater: decision.compression == nil ? nil : services.deflaters.value(on: channel.eventLoop),
            minCompressBytes: services.configuration.compressionMinBytes
        )
        switch decision.endpoint {
        case .hawker:
            try pipeline.addHandler(SessionHandler(services: services, framer: framer, connection: connection, budget: budget, writesThroughBudget: !tls))
        case .echo:
            try pipeline.addHandler(ConformanceEchoHandler(framer: framer))
        }
    }
}
