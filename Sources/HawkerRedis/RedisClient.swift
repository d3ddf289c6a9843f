import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A Redis client for the gateway: one connection for commands (every caller's commands
/// pipelined on it) and one for pub/sub, each kept up by `run()` and re-established
/// after a failure with jittered exponential backoff.
///
/// Nothing is queued while Redis is away: a command then fails at once with
/// `unavailable` (retryable, it was not sent), so what waits is bounded by the callers.
/// Subscriptions are the client's state: they are made again on every new pub/sub
/// connection, and `events` says when (messages published in between were missed).
public final class RedisClient: Redis, Service {
    /// What happened to the connections.
    public enum Event: Sendable, Equatable {
        /// The command connection is up: commands can be sent.
        case available
        /// The command connection is down: commands fail with `unavailable` until `available`.
        case unavailable
        /// The pub/sub connection is up again and every subscription is back; messages
        /// published while it was down were not received.
        case resubscribed
    }

    private enum Role: String {
        case commands, pubsub
    }

    private struct State {
        var commands: RedisConnection?
        var pubsub: RedisConnection?
        var channels: Set<String> = []
        var shardedChannels: Set<String> = []
        var onMessage: @Sendable (RedisMessage) -> Void = { _ in }
        var onEvent: @Sendable (Event) -> Void = { _ in }
    }

    public let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())

    public init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Where messages and connection events go. Messages are delivered on the pub/sub
    /// connection's event loop, one at a time, in the order Redis sent them: keep the
    /// handler short.
    public func setHandlers(onMessage: @escaping @Sendable (RedisMessage) -> Void, onEvent: @escaping @Sendable (Event) -> Void) {
        state.withLock {
            $0.onMessage = onMessage
            $0.onEvent = onEvent
        }
    }

    public var isAvailable: Bool { state.withLock { $0.commands != nil } }

    // MARK: - Running

    /// Keeps both connections up until the task is cancelled or the service group shuts
    /// down gracefully; then closes them.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.keepConnected(.commands) }
                group.addTask { await self.keepConnected(.pubsub) }
            }
        }
    }

    private func keepConnected(_ role: Role) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await RedisConnection.connect(configuration, on: eventLoopGroup.next()) { [weak self] message in
                    self?.state.withLock { $0.onMessage }(message)
                }
                failures = 0
                try await withTaskCancellationHandler {
                    try await serve(connection, role)
                } onCancel: {
                    connection.close()
                }
            } catch {
                if failures == 0 {
                    logger.warning("redis connection down", metadata: ["role": "\(role.rawValue)", "error": "\(error)"])
                }
                failures += 1
            }
            let ceiling = min(configuration.reconnectBackoff.last.nanoseconds, configuration.reconnectBackoff.first.nanoseconds << min(failures, 20))
            try? await Task.sleep(nanoseconds: UInt64.random(in: 0...UInt64(max(ceiling, 1))))
        }
    }

    /// Installs the connection, restores what it carries, and waits for it to close.
    private func serve(_ connection: RedisConnection, _ role: Role) async throws {
        switch role {
        case .commands:
            let onEvent = state.withLock {
                $0.commands = connection
                return $0.onEvent
            }
            logger.info("redis connected", metadata: ["host": "\(configuration.host):\(configuration.port)"])
            onEvent(.available)
            defer {
                let onEvent = state.withLock {
                    $0.commands = nil
                    return $0.onEvent
                }
                onEvent(.unavailable)
            }
            try await connection.closeFuture.get()
        case .pubsub:
            let (channels, sharded) = state.withLock {
                $0.pubsub = connection
                return ($0.channels, $0.shardedChannels)
            }
            defer { state.withLock { $0.pubsub = nil } }
            if !channels.isEmpty { _ = try await connection.subscription("SUBSCRIBE", Array(channels)).get() }
            if !sharded.isEmpty {
                // One SSUBSCRIBE per channel: Redis Cluster refuses channels of several slots in one.
                for channel in sharded { _ = try await connection.subscription("SSUBSCRIBE", [channel]).get() }
            }
            state.withLock { $0.onEvent }(.resubscribed)
            try await connection.closeFuture.get()
        }
    }

    // MARK: - Commands

    private func commandConnection() throws(RedisError) -> RedisConnection {
        guard let connection = state.withLock({ $0.commands }) else { throw RedisError(.unavailable, "not connected to Redis") }
        return connection
    }

    public func send(_ command: RedisCommand) async throws -> RESPValue {
        let reply = try await commandConnection().send([command]).get()[0]
        if case .error(let message) = reply { throw RedisError(.replyError, message) }
        return reply
    }

    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        return try await commandConnection().send(commands).get()
    }

    public func evaluate(_ script: RedisScript, keys: [RedisCommand.Argument], arguments: [RedisCommand.Argument]) async throws -> RESPValue {
        try await evaluateScript(script, keys: keys, arguments: arguments)
    }

    // MARK: - Pub/sub

    public func subscribe(_ channels: [String], sharded: Bool) async throws {
        let connection = state.withLock { state in
            if sharded { state.shardedChannels.formUnion(channels) } else { state.channels.formUnion(channels) }
            return state.pubsub
        }
        guard !channels.isEmpty else { return }
        guard let connection else { throw RedisError(.unavailable, "not connected to Redis (subscribed on the next connection)") }
        if sharded {
            for channel in channels { _ = try await connection.subscription("SSUBSCRIBE", [channel]).get() }
        } else {
            _ = try await connection.subscription("SUBSCRIBE", channels).get()
        }
    }

    public func unsubscribe(_ channels: [String], sharded: Bool) async throws {
        let connection = state.withLock { state in
            if sharded { state.shardedChannels.subtract(channels) } else { state.channels.subtract(channels) }
            return state.pubsub
        }
        guard !channels.isEmpty, let connection else { return }
        if sharded {
            for channel in channels { _ = try await connection.subscription("SUNSUBSCRIBE", [channel]).get() }
        } else {
            _ = try await connection.subscription("UNSUBSCRIBE", channels).get()
        }
    }
}
