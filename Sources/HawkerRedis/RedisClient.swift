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
                let connected = ContinuousClock.now
                defer {
                    // However serving ended, the connection goes (a failed resubscribe must
                    // not leave one behind still receiving messages).
                    connection.close()
                    // Backoff starts over only after a connection that held for a while:
                    // one that fails at once each time must not reconnect in a tight loop.
                    if ContinuousClock.now - connected > .seconds(1) { failures = 0 }
                }
                try await withTaskCancellationHandler {
                    try await serve(connection, role)
                } onCancel: {
                    connection.close()
                }
            } catch {
                // Closed because the client stops: nothing to report.
                if Task.isCancelled { break }
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
            // Installed and written under the lock, so that no subscribe or unsubscribe
            // made meanwhile is overtaken by this snapshot.
            let confirmations = state.withLock { state in
                state.pubsub = connection
                // In chunks (a node may follow many streams; each chunk stays under the
                // pending bound), and one SSUBSCRIBE per channel: Redis Cluster refuses
                // channels of several slots in one.
                var futures = stride(from: 0, to: state.channels.count, by: 1_000).map { start in
                    connection.subscription("SUBSCRIBE", Array(Array(state.channels)[start..<min(start + 1_000, state.channels.count)]))
                }
                futures += state.shardedChannels.map { connection.subscription("SSUBSCRIBE", [$0]) }
                return futures
            }
            defer { state.withLock { $0.pubsub = nil } }
            for confirmation in confirmations { _ = try await confirmation.get() }
            state.withLock { $0.onEvent }(.resubscribed)
            // Nothing else travels on this connection from here: a PING now and then shows
            // it still reaches Redis (a half-open connection would otherwise look fine).
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await connection.closeFuture.get() }
                group.addTask {
                    while true {
                        try await Task.sleep(for: .nanoseconds(max(self.configuration.commandTimeout.nanoseconds / 2, 1_000_000)))
                        _ = try await connection.send([RedisCommand("PING")]).get()
                    }
                }
                defer { group.cancelAll() }
                _ = try await group.next()
            }
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

    // MARK: - Pub/sub

    public func subscribe(_ channels: [String], sharded: Bool) async throws {
        guard !channels.isEmpty else { return }
        // The set and the write change together, under the lock: a subscribe and an
        // unsubscribe of the same channel reach Redis in the order they changed the set.
        let confirmations = state.withLock { state -> [EventLoopFuture<[RESPValue]>]? in
            if sharded { state.shardedChannels.formUnion(channels) } else { state.channels.formUnion(channels) }
            guard let connection = state.pubsub else { return nil }
            return sharded ? channels.map { connection.subscription("SSUBSCRIBE", [$0]) } : [connection.subscription("SUBSCRIBE", channels)]
        }
        guard let confirmations else { throw RedisError(.unavailable, "not connected to Redis (subscribed on the next connection)") }
        for confirmation in confirmations { _ = try await confirmation.get() }
    }

    public func unsubscribe(_ channels: [String], sharded: Bool) async throws {
        guard !channels.isEmpty else { return }
        let confirmations = state.withLock { state -> [EventLoopFuture<[RESPValue]>] in
            if sharded { state.shardedChannels.subtract(channels) } else { state.channels.subtract(channels) }
            guard let connection = state.pubsub else { return [] }
            return sharded ? channels.map { connection.subscription("SUNSUBSCRIBE", [$0]) } : [connection.subscription("UNSUBSCRIBE", channels)]
        }
        for confirmation in confirmations { _ = try await confirmation.get() }
    }
}
