import CoreMetrics
import HawkerWebSocket
import NIOCore
import NIOHTTP1
import NIOSSL

/// Builds each accepted connection's pipeline: optional TLS, then `FastUpgradeHandler`
/// (or, with `http.fast_upgrade` off or for whatever it hands over, NIO's HTTP/1.1
/// pipeline with the WebSocket upgrader and the API), and after the upgrade the strict
/// WebSocket layer with a hawker.v1 session (or the conformance echo).
struct GatewayChannelInitializer: Sendable {
    /// Past the connection limits, or draining.
    struct ConnectionRefused: Error {}

    let services: GatewayServices
    let tls: NIOSSLContext?

    private var policy: UpgradePolicy {
        let connections = services.connections
        return UpgradePolicy(configuration: services.configuration, isDraining: { connections.isDraining })
    }

    /// `socket`: the connection's descriptor, when the gateway accepted it itself
    /// (`SocketAcceptor`); broadcasts are then sent to it directly.
    func initialize(_ channel: any Channel, socket: CInt? = nil) -> EventLoopFuture<Void> {
        let connections = services.connections
        guard connections.admit(channel) == .admitted else {
            services.metrics.rejectedConnections.increment()
            // A failed initializer: the bootstrap closes the socket (closing it here would
            // leave the bootstrap registering a closed channel).
            return channel.eventLoop.makeFailedFuture(ConnectionRefused())
        }
        return channel.eventLoop.makeCompletedFuture {
            try configure(channel, socket: socket)
        }
    }

    private func configure(_ channel: any Channel, socket: CInt?) throws {
        let pipeline = channel.pipeline.syncOperations
        // On the socket's side of TLS: it counts everything written to the connection. Over
        // TLS, broadcasts must be encrypted: no direct sends.
        try pipeline.addHandler(
            OutboundBudgetHandler(
                limit: services.configuration.outboundBudgetBytes,
                grace: services.configuration.webSocket.closeTimeout,
                socket: tls == nil ? socket : nil
            )
        )
        if let tls {
            try pipeline.addHandler(NIOSSLServerHandler(context: tls))
            try pipeline.addHandler(TLSHandshakeTimeoutHandler(timeout: services.configuration.tlsHandshakeTimeout))
        }
        let upgrader = WebSocketUpgrader(policy: policy, services: services)
        guard services.configuration.fastUpgrade else {
            try addHTTPPipeline(to: channel, upgrader: upgrader, deadline: nil)
            return
        }
        let connections = services.connections
        try pipeline.addHandler(
            FastUpgradeHandler(
                upgrader: upgrader,
                timeout: services.configuration.httpRequestTimeout,
                upgraded: { channel in
                    connections.handshakeDone(channel)
                    services.metrics.fastUpgrades.increment()
                },
                handOver: { [self] context, deadline in
                    try addHTTPPipeline(to: context.channel, upgrader: upgrader, deadline: deadline)
                }
            ))
    }

    /// NIO's HTTP/1.1 server pipeline with the upgrader, the request clock and the API, at
    /// the pipeline's end. `deadline`: when the first request must be complete, if not
    /// `http.request_timeout_ms` from now.
    private func addHTTPPipeline(to channel: any Channel, upgrader: WebSocketUpgrader, deadline: NIODeadline?) throws {
        let pipeline = channel.pipeline.syncOperations
        let services = self.services
        let connections = services.connections
        let timeout = HTTPRequestTimeoutHandler(timeout: services.configuration.httpRequestTimeout, firstDeadline: deadline) {
            connections.handshakeDone(channel)
        }
        let aggregator = NIOHTTPServerRequestAggregator(maxContentLength: services.configuration.maxHTTPBodyBytes)
        let api = HTTPAPIHandler(services: services, policy: upgrader.policy)
        // After an upgrade the HTTP-only handlers leave the pipeline.
        let httpHandlers = NIOLoopBound((timeout, aggregator, api), eventLoop: channel.eventLoop)
        try pipeline.configureHTTPServerPipeline(
            withServerUpgrade: (
                upgraders: [upgrader],
                completionHandler: { context in
                    connections.handshakeDone(context.channel)
                    services.metrics.httpUpgrades.increment()
                    let pipeline = context.pipeline.syncOperations
                    let (timeout, aggregator, api) = httpHandlers.value
                    pipeline.removeHandler(timeout, promise: nil)
                    pipeline.removeHandler(aggregator, promise: nil)
                    pipeline.removeHandler(api, promise: nil)
                }
            ),
            withErrorHandling: true
        )
        try pipeline.addHandler(timeout)
        try pipeline.addHandler(aggregator)
        try pipeline.addHandler(api)
    }
}
