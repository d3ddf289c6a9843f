/// What Hawker asks of Redis, and no more: commands (pipelined), scripts, and pub/sub.
/// `RedisClient` is the implementation here; a maintained client package could take its
/// place behind this protocol.
public protocol Redis: Sendable {
    /// Whether commands can be sent now (a connection is up).
    var isAvailable: Bool { get }

    /// Sends one command; an error reply is thrown as `RedisError.replyError`.
    func send(_ command: RedisCommand) async throws -> RESPValue

    /// Sends the commands in one write; their replies in order, error replies as values.
    func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue]

    /// Runs a script by its SHA-1, sending its source only when Redis does not have it.
    func evaluate(_ script: RedisScript, keys: [RedisCommand.Argument], arguments: [RedisCommand.Argument]) async throws -> RESPValue

    /// Subscribes to the channels (sharded pub/sub when `sharded`), now and after every
    /// reconnect, until unsubscribed. Returns once Redis confirmed them, or throws
    /// `unavailable` when no connection is up (the channels are subscribed on the next).
    func subscribe(_ channels: [String], sharded: Bool) async throws

    /// Stops the subscriptions.
    func unsubscribe(_ channels: [String], sharded: Bool) async throws
}

extension Redis {
    /// EVALSHA, then EVAL when the script is not in Redis's cache.
    public func evaluate(_ script: RedisScript, keys: [RedisCommand.Argument], arguments: [RedisCommand.Argument]) async throws -> RESPValue {
        let counted: [RedisCommand.Argument] = [.integer(Int64(keys.count))] + keys + arguments
        do {
            return try await send(RedisCommand("EVALSHA", [.string(script.sha1)] + counted))
        } catch let error as RedisError where error.replyCode == "NOSCRIPT" {
            return try await send(RedisCommand("EVAL", [.string(script.source)] + counted))
        }
    }
}
