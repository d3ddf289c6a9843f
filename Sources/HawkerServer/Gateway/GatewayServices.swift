import HawkerAuth
import HawkerCluster
import HawkerHub
import HawkerProtocol
import HawkerWebSocket
import Logging
import NIOCore

/// The shared, thread-safe parts every connection uses. A class, so that each connection
/// holds one reference instead of its own copy of the configuration (a struct of ~1 KB:
/// that copy was most of an idle connection's memory).
final class GatewayServices: Sendable {
    let configuration: GatewayConfiguration
    /// Every stream operation goes through this seam (the hub on one node).
    let streams: any StreamEngine
    /// Cluster mode: the engine, for readiness (nil on one node).
    let cluster: ClusterEngine?
    let verifier: TokenVerifier?
    let metrics: GatewayMetrics
    let connections: ConnectionRegistry
    /// Per-user quotas, shared by every connection.
    let quotas: UserQuotas
    let deflaters: PerLoop<MessageDeflater>
    /// Connect and token-expiry deadlines, one heap per loop.
    let clocks: PerLoop<SessionClocks>
    /// Checkouts and orders; nil in tools that run without an outbox.
    let orders: OrderDesk?
    /// Merchants' stock levels; nil for an engine that keeps none.
    let inventory: InventoryDesk?
    /// Influencer codes and referrals; nil in tools that run without an outbox.
    let affiliates: AffiliateDesk?
    /// Merchants registered at run time (`/v1/merchants`); nil when no orders are relayed.
    let merchants: MerchantDesk?
    /// The SDK and the pages.
    let webFiles: StaticFiles
    let logger: Logger

    init(
        configuration: GatewayConfiguration,
        streams: any StreamEngine,
        cluster: ClusterEngine? = nil,
        verifier: TokenVerifier?,
        metrics: GatewayMetrics,
        connections: ConnectionRegistry,
        quotas: UserQuotas,
        deflaters: PerLoop<MessageDeflater>,
        clocks: PerLoop<SessionClocks>,
        orders: OrderDesk?,
        inventory: InventoryDesk?,
        affiliates: AffiliateDesk? = nil,
        merchants: MerchantDesk? = nil,
        webFiles: StaticFiles,
        logger: Logger
    ) {
        self.configuration = configuration
        self.streams = streams
        self.cluster = cluster
        self.verifier = verifier
        self.metrics = metrics
        self.connections = connections
        self.quotas = quotas
        self.deflaters = deflaters
        self.clocks = clocks
        self.orders = orders
        self.inventory = inventory
        self.affiliates = affiliates
        self.merchants = merchants
        self.webFiles = webFiles
        self.logger = logger
    }

    var sessionLimits: SessionStateMachine.Limits {
        SessionStateMachine.Limits(
            maxSubscriptions: configuration.maxSubscriptions,
            commandsPerSecond: configuration.commandsPerSecond,
            commandBurst: configuration.commandBurst,
            publisherCommandsPerSecond: configuration.publisherCommandsPerSecond,
            publisherCommandBurst: configuration.publisherCommandBurst,
            errorBudget: configuration.errorBudget,
            anonymousViewers: configuration.anonymousViewers
        )
    }

    /// The limits announced in `welcome`; hosts and admins get the publisher rate.
    func welcomeLimits(for role: Role) -> ServerMessage.Limits {
        let publisher = role == .host || role == .admin
        return ServerMessage.Limits(
            maxMessageBytes: configuration.webSocket.maxMessageBytes,
            maxSubscriptions: configuration.maxSubscriptions,
            pingIntervalMilliseconds: configuration.webSocket.pingInterval.nanoseconds / 1_000_000,
            commandsPerSecond: publisher ? configuration.publisherCommandsPerSecond : configuration.commandsPerSecond,
            commandBurst: publisher ? configuration.publisherCommandBurst : configuration.commandBurst
        )
    }

    /// A refused token, at warning level with where it came from: the trail an operator
    /// follows when someone is trying tokens.
    func loginFailed(_ error: AuthError, peer: String, over transport: String) {
        logger.warning(
            "login failed",
            metadata: ["peer": "\(peer)", "transport": "\(transport)", "code": "\(error.code.rawValue)", "reason": "\(error.message)"]
        )
    }

    /// The answer on the calling event loop when there is one (`TokenVerifier.verifyNow`).
    func verifyNow(_ token: String) -> Result<Principal, AuthError>? {
        guard let verifier else {
            return .failure(AuthError(code: .unauthorized, message: "this gateway has no token keys configured"))
        }
        return verifier.verifyNow(token)
    }

    /// Verifies a token, or refuses it when no key is configured.
    func verify(_ token: String) async -> Result<Principal, AuthError> {
        guard let verifier else {
            return .failure(AuthError(code: .unauthorized, message: "this gateway has no token keys configured"))
        }
        return await verifier.verify(token)
    }
}
