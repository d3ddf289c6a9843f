import NIOCore
import NIOPosix

/// One TCP connection to Redis speaking RESP3, set up (`HELLO 3`, auth, name, database)
/// and ready for pipelined commands. It does not reconnect: `RedisClient` does.
final class RedisConnection: Sendable {
    let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    static func connect(
        _ configuration: RedisConfiguration, on eventLoop: any EventLoop, onMessage: @escaping @Sendable (RedisMessage) -> Void
    ) async throws -> RedisConnection {
        let parser = RESPParser(limits: configuration.limits)
        let channel = try await ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RESPDecoder(parser: parser)),
                        RedisConnectionHandler(
                            maxPendingCommands: configuration.maxPendingCommands, commandTimeout: configuration.commandTimeout, onMessage: onMessage),
                    ])
                }
            }
            .connect(host: configuration.host, port: configuration.port).get()
        let connection = RedisConnection(channel: channel)
        do {
            var hello: [RedisCommand.Argument] = ["3"]
            if let password = configuration.password {
                hello += ["AUTH", .string(configuration.username ?? "default"), .string(password)]
            }
            if let name = configuration.clientName { hello += ["SETNAME", .string(name)] }
            var commands = [RedisCommand("HELLO", hello)]
            if configuration.database != 0 { commands.append(RedisCommand("SELECT", [.integer(Int64(configuration.database))])) }
            for reply in try await connection.send(commands).get() {
                if case .error(let message) = reply { throw RedisError(.replyError, message) }
            }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// Writes the commands in one flush; their replies, in order (error replies included).
    func send(_ commands: [RedisCommand]) -> EventLoopFuture<[RESPValue]> {
        var encoded = commands.count == 1 ? commands[0].encoded : ByteBuffer()
        if commands.count > 1 {
            for command in commands { encoded.writeImmutableBuffer(command.encoded) }
        }
        return write(RedisRequest(encoded: encoded, answer: .replies(count: commands.count), promise: channel.eventLoop.makePromise()))
    }

    /// `(S)SUBSCRIBE` or `(S)UNSUBSCRIBE` of `channels`: done when Redis confirmed each.
    func subscription(_ command: String, _ channels: [String]) -> EventLoopFuture<[RESPValue]> {
        let encoded = RedisCommand(command, channels.map { .string($0) }).encoded
        return write(RedisRequest(encoded: encoded, answer: .confirmations(count: channels.count), promise: channel.eventLoop.makePromise()))
    }

    private func write(_ request: RedisRequest) -> EventLoopFuture<[RESPValue]> {
        let future = request.promise.futureResult
        channel.writeAndFlush(request).whenFailure { error in
            // A write refused by a closed channel never left: not sent.
            request.promise.fail(error as? RedisError ?? RedisError(.unavailable, "\(error)"))
        }
        return future
    }

    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    func close() {
        channel.close(promise: nil)
    }
}
