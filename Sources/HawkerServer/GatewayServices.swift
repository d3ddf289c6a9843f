import HawkerAuth
import HawkerHub
import HawkerProtocol
import HawkerWebSocket
import Logging
import NIOCore

/// The shared, thread-safe parts every connection uses.
struct GatewayServices: Sendable {
    var configuration: GatewayConfiguration
    var hub: Hub
    var broker: any Broker
    var verifier: TokenVerifier?
    var metrics: GatewayMetrics
    var connections: ConnectionRegistry
    var deflaters: PerLoopDeflaters
    /// Checkouts and orders; nil in tools that run without an outbox.
    var orders: OrderDesk?
    /// The SDK and the pages.
    var webFiles: StaticFiles
    var logger: Logger

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

    /// Verifies a token, or refuses it when no key is configured.
    func verify(_ token: String) async -> Result<Principal, AuthError> {
        guard let verifier else {
            return .failure(AuthError(code: .unauthorized, message: "this gateway has no token keys configured"))
        }
        return await verifier.verify(token)
    }
}
