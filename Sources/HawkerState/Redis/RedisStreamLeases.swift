import HawkerProtocol
import HawkerRedis

/// The leases of a cluster's streams, in Redis: at most one node holds a stream's lease at
/// a time; it expires unless renewed, and each new holder gets a larger fencing token
/// (`p:s:{id}:fence`, never reset), which `RedisStateStore` checks on every write.
public struct RedisStreamLeases: Sendable {
    public enum Outcome: Sendable, Hashable {
        /// This node holds it now (newly, or it held it already: renewed).
        case acquired(StreamLease)
        /// Another node holds it.
        case heldBy(StreamLease)
    }

    private let redis: any Redis
    private let prefix: String

    public init(redis: any Redis, prefix: String = "hawker") {
        self.redis = redis
        self.prefix = prefix
    }

    private func keys(_ stream: StreamID) -> [RedisCommand.Argument] {
        [.string(prefix + ":s:{" + stream.rawValue + "}:lease"), .string(prefix + ":s:{" + stream.rawValue + "}:fence")]
    }

    private static let acquireScript = RedisScript(
        """
        local current = redis.call('GET', KEYS[1])
        if current then
          local node, token = string.match(current, '^(.*) (%d+)$')
          if node == ARGV[1] then
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            return {1, current}
          end
          return {0, current}
        end
        local token = redis.call('INCR', KEYS[2])
        local lease = ARGV[1] .. ' ' .. token
        redis.call('SET', KEYS[1], lease, 'PX', ARGV[2])
        return {1, lease}
        """)

    private static let renewScript = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """)

    /// Renews many leases at once: KEYS the lease keys, ARGV[1] the time, then the leases
    /// in the same order; returns 1 (renewed) or 0 (lost) for each.
    private static let renewAllScript = RedisScript(
        """
        local renewed = {}
        for index, key in ipairs(KEYS) do
          if redis.call('GET', key) == ARGV[index + 1] then
            redis.call('PEXPIRE', key, ARGV[1])
            renewed[index] = 1
          else
            renewed[index] = 0
          end
        end
        return renewed
        """)

    private static let releaseScript = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)

    /// Takes the stream's lease for `node` for `ttlMilliseconds`, unless another node holds it.
    public func acquire(_ stream: StreamID, node: String, ttlMilliseconds: Int64) async throws -> Outcome {
        let reply = try await redis.evaluate(Self.acquireScript, keys: keys(stream), arguments: [.string(node), .integer(ttlMilliseconds)])
        guard let parts = reply.elements, parts.count == 2, let flag = parts[0].int64, let text = parts[1].string, let lease = StreamLease(stored: text) else {
            throw RedisError(.unexpectedReply, "a lease script answered \(reply)")
        }
        return flag == 1 ? .acquired(lease) : .heldBy(lease)
    }

    /// Extends the lease if `lease` still holds it; false when it was lost (expired, or
    /// taken by another node since).
    public func renew(_ stream: StreamID, _ lease: StreamLease, ttlMilliseconds: Int64) async throws -> Bool {
        try await redis.evaluate(Self.renewScript, keys: keys(stream), arguments: [.string(lease.stored), .integer(ttlMilliseconds)]).int64 == 1
    }

    /// Renews every lease in one round trip; returns the streams whose lease was lost.
    public func renew(_ leases: [(stream: StreamID, lease: StreamLease)], ttlMilliseconds: Int64) async throws -> Set<StreamID> {
        guard !leases.isEmpty else { return [] }
        let reply = try await redis.evaluate(
            Self.renewAllScript, keys: leases.map { keys($0.stream)[0] }, arguments: [.integer(ttlMilliseconds)] + leases.map { .string($0.lease.stored) })
        guard let flags = reply.elements, flags.count == leases.count else { throw RedisError(.unexpectedReply, "the renew script answered \(reply)") }
        return Set(zip(leases, flags).compactMap { lease, flag in flag.int64 == 1 ? nil : lease.stream })
    }

    /// Gives the lease up, if `lease` still holds it.
    public func release(_ stream: StreamID, _ lease: StreamLease) async throws {
        _ = try await redis.evaluate(Self.releaseScript, keys: keys(stream), arguments: [.string(lease.stored)])
    }

    /// Who holds the stream now, if anyone.
    public func holder(_ stream: StreamID) async throws -> StreamLease? {
        try await redis.send(RedisCommand("GET", [keys(stream)[0]])).string.flatMap(StreamLease.init(stored:))
    }
}
