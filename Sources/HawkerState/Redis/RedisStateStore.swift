import Foundation
import HawkerCommerce
import HawkerProtocol
import HawkerRedis
import NIOCore
import Synchronization

/// The `StateStore` of a cluster: Redis, shared by every gateway node.
///
/// A batch is one script (`applyScript`), so it is applied whole or not at all and no
/// other client sees half of it. Durability is Redis's: `apply` returns once Redis has
/// executed the batch, which survives the gateway; to survive Redis itself, run it with
/// `appendonly yes` (and `appendfsync always` for nothing lost on a power cut; `everysec`
/// loses up to a second) and replicas. Keys start with `prefix`, so several gateways
/// (or tests) can share one Redis; per-stream keys carry the stream id as a hash tag.
///
/// The Redis connection is the caller's: run the `RedisClient` as a service beside the
/// store. While Redis is away every call fails with `RedisError` (`unavailable`: not
/// sent, retryable), which the journal treats as any failing store: it retries in order.
public final class RedisStateStore: StateStore {
    /// How a cluster node writes: its events published on the streams' channels, its
    /// changes fenced by the leases it holds.
    public struct ClusterWrites: Sendable {
        /// The lease this node holds on a stream, nil for none: changes to a stream are
        /// kept only while that lease is still Redis's.
        public var lease: @Sendable (StreamID) -> StreamLease?
        /// Told the streams whose changes Redis refused (their lease is gone or another
        /// node's): the node must stop running them.
        public var fencedOff: @Sendable ([StreamID]) -> Void
        /// Told the holds Redis refused (their units were sold on another node meanwhile),
        /// before `apply` returns: those checkouts must not be accepted.
        public var holdsRefused: @Sendable ([(checkoutID: String, merchant: String)]) -> Void

        public init(
            lease: @escaping @Sendable (StreamID) -> StreamLease?, fencedOff: @escaping @Sendable ([StreamID]) -> Void,
            holdsRefused: @escaping @Sendable ([(checkoutID: String, merchant: String)]) -> Void = { _ in }
        ) {
            self.lease = lease
            self.fencedOff = fencedOff
            self.holdsRefused = holdsRefused
        }
    }

    private let redis: any Redis
    private let prefix: String
    private let cluster: ClusterWrites?
    private let closed = Atomic(false)

    /// Streams read per round trip by `load`.
    private static let loadChunk = 64

    /// - Parameter cluster: for a cluster node: publish and fence its writes. Without it
    ///   the store is one gateway's (nothing published, nothing fenced).
    public init(redis: any Redis, prefix: String = "hawker", cluster: ClusterWrites? = nil) {
        self.redis = redis
        self.prefix = prefix
        self.cluster = cluster
    }

    // MARK: - Writing

    @discardableResult
    public func apply(_ changes: [StateChange]) async throws -> Set<StreamID> {
        try checkOpen()
        guard !changes.isEmpty else { return [] }
        var arguments: [RedisCommand.Argument] = [.string(prefix), cluster == nil ? "0" : "1"]
        arguments.reserveCapacity(3 + changes.count * 5)
        if let cluster {
            let streams = Set(changes.compactMap(\.stream))
            let leases = streams.compactMap { stream in cluster.lease(stream).map { (stream, $0) } }
            arguments.append(.integer(Int64(leases.count)))
            for (stream, lease) in leases { arguments += [.string(stream.rawValue), .string(lease.stored)] }
        } else {
            arguments.append(-1)
        }
        for change in changes { try Self.encode(change, into: &arguments) }
        do {
            let reply = try await redis.evaluate(Self.applyScript, keys: [], arguments: arguments).elements ?? []
            let refused = (reply.first?.elements ?? []).compactMap { $0.string.flatMap(StreamID.init) }
            let holds = (reply.dropFirst().first?.elements ?? []).compactMap { field -> (checkoutID: String, merchant: String)? in
                guard let text = field.string, let key = try? Self.decoder.decode([String].self, from: Data(text.utf8)), key.count == 2 else { return nil }
                return (key[0], key[1])
            }
            if let cluster, !holds.isEmpty { cluster.holdsRefused(holds) }
            if let cluster, !refused.isEmpty { cluster.fencedOff(refused) }
            return Set(refused)
        } catch let error as RedisError {
            switch error.replyCode {
            case "HAWKER_UNKNOWN_STREAM": throw StateStoreError(.unknownStream, Self.text(of: error))
            case "HAWKER_CONFLICT": throw StateStoreError(.conflict, Self.text(of: error))
            default: throw error
            }
        }
    }

    private static func text(of error: RedisError) -> String {
        String(error.message.drop { $0 != " " }.dropFirst())
    }

    private static func encode(_ change: StateChange, into arguments: inout [RedisCommand.Argument]) throws {
        switch change {
        case .created(let stream, let epoch, let createdAt, let owner):
            arguments += ["C", .string(stream.rawValue), .string(epoch), .integer(createdAt), owner == nil ? "0" : "1", .string(owner ?? "")]
        case .appended(let stream, let event):
            try arguments += ["A", .string(stream.rawValue), .integer(sequenceNumber(event.seq)), .integer(event.timestamp), .bytes(ByteBuffer(bytes: event.payload))]
        case .trimmed(let stream, let seq):
            // Entries below `<seq + 1>-0` go: every event up to and including `seq`.
            let below = seq >= maxSequence ? "\(maxSequence + 1)-0" : "\(seq + 1)-0"
            arguments += ["T", .string(stream.rawValue), .string(below)]
        case .roomSaved(let stream, let room):
            try arguments += ["R", .string(stream.rawValue), .integer(sequenceNumber(room.seq)), .integer(room.savedAt), .bytes(ByteBuffer(bytes: room.data))]
        case .archived(let stream, let at):
            arguments += ["V", .string(stream.rawValue), .integer(at)]
        case .removed(let stream):
            arguments += ["X", .string(stream.rawValue)]
        case .stockOnHand(let sku, let onHand):
            arguments += ["S", .string(try field(sku)), onHand == nil ? "0" : "1", .integer(onHand ?? 0)]
        case .fence(let stream):
            arguments += ["F", .string(stream.rawValue)]
        case .stockAdjusted(let sku, let delta, let id):
            arguments += ["D", .string(try field(sku)), .integer(delta), .string(id)]
        case .reservationOpened(let checkoutID, let merchant, let units):
            let held = try units.sorted { $0.key < $1.key }.map { HeldUnits(f: try field($0.key), u: $0.value) }
            arguments += ["O", .string(try field(hold: checkoutID, merchant)), .bytes(ByteBuffer(bytes: try encoder.encode(held)))]
        case .reservationClosed(let checkoutID, let merchant, let confirmed):
            arguments += ["K", .string(try field(hold: checkoutID, merchant)), confirmed ? "1" : "0"]
        }
    }

    /// The largest sequence number kept: the script compares them as Lua numbers (doubles).
    static let maxSequence: UInt64 = (1 << 53) - 1

    private static func sequenceNumber(_ seq: UInt64) throws -> Int64 {
        guard seq <= maxSequence else { throw StateStoreError(.conflict, "sequence number \(seq) is out of range") }
        return Int64(seq)
    }

    // MARK: - Reading

    public func load() async throws -> [StoredStream] {
        try checkOpen()
        let ids = try await redis.send(RedisCommand("ZRANGE", [.string(prefix + ":streams"), 0, -1])).elements ?? []
        var streams: [StoredStream] = []
        var index = 0
        while index < ids.count {
            let chunk = ids[index..<min(index + Self.loadChunk, ids.count)].compactMap { $0.string.flatMap(StreamID.init) }
            index += Self.loadChunk
            let replies = try await redis.pipeline(chunk.flatMap { [RedisCommand("HGETALL", [.string(meta($0))]), RedisCommand("XRANGE", [.string(events($0)), "-", "+"])] })
            for (offset, id) in chunk.enumerated() {
                // A stream that does not read is left out, not fatal: the others come back.
                guard var stream = try? Self.stream(id, replies[offset * 2]), stream.archivedAt == nil else { continue }
                stream.events = Self.events(replies[offset * 2 + 1])
                streams.append(stream)
            }
        }
        return streams
    }

    /// One live stream, with its events: for the node that takes it over.
    public func load(_ stream: StreamID) async throws -> StoredStream? {
        try checkOpen()
        let replies = try await redis.pipeline([RedisCommand("HGETALL", [.string(meta(stream))]), RedisCommand("XRANGE", [.string(events(stream)), "-", "+"])])
        guard var stored = try? Self.stream(stream, replies[0]), stored.archivedAt == nil else { return nil }
        stored.events = Self.events(replies[1])
        return stored
    }

    public func loadInventory() async throws -> StoredInventory {
        try checkOpen()
        let replies = try await redis.pipeline([RedisCommand("HGETALL", [.string(prefix + ":stock")]), RedisCommand("HGETALL", [.string(prefix + ":holds")])])
        var inventory = StoredInventory()
        for pair in replies[0].pairs ?? [] {
            guard let field = pair.key.bytes, let sku = try? Self.decoder.decode(SKU.self, from: Data(field.readableBytesView)), let onHand = pair.value.int64 else { continue }
            inventory.onHand[sku] = onHand
        }
        var holds: [(checkout: String, merchant: String, units: [SKU: Int64])] = []
        for pair in replies[1].pairs ?? [] {
            guard let field = pair.key.bytes, let key = try? Self.decoder.decode([String].self, from: Data(field.readableBytesView)), key.count == 2, let value = pair.value.bytes,
                let held = try? Self.decoder.decode([HeldUnits].self, from: Data(value.readableBytesView))
            else { continue }
            let units = held.compactMap { held in (try? Self.decoder.decode(SKU.self, from: Data(held.f.utf8))).map { ($0, held.u) } }
            holds.append((key[0], key[1], Dictionary(units, uniquingKeysWith: +)))
        }
        inventory.reservations = holds.sorted { ($0.checkout, $0.merchant) < ($1.checkout, $1.merchant) }.map {
            .init(checkoutID: $0.checkout, merchant: $0.merchant, units: $0.units)
        }
        return inventory
    }

    /// Tracked products' units on hand and held (by any node), as Redis has them now: what
    /// a cluster node's view of the stock is brought back to. `skus` nil: every tracked
    /// product; else those (the untracked among them left out).
    public func loadStock(_ skus: [SKU]? = nil) async throws -> [SKU: (onHand: Int64, held: Int64)] {
        try checkOpen()
        var stock: [SKU: (onHand: Int64, held: Int64)] = [:]
        guard let skus else {
            let replies = try await redis.pipeline([RedisCommand("HGETALL", [.string(prefix + ":stock")]), RedisCommand("HGETALL", [.string(prefix + ":held")])])
            var held: [String: Int64] = [:]
            for pair in replies[1].pairs ?? [] {
                if let field = pair.key.string, let units = pair.value.int64 { held[field] = units }
            }
            for pair in replies[0].pairs ?? [] {
                guard let field = pair.key.string, let sku = try? Self.decoder.decode(SKU.self, from: Data(field.utf8)), let onHand = pair.value.int64 else { continue }
                stock[sku] = (onHand, max(0, held[field] ?? 0))
            }
            return stock
        }
        guard !skus.isEmpty else { return [:] }
        let fields = try skus.map { RedisCommand.Argument.string(try Self.field($0)) }
        let replies = try await redis.pipeline([
            RedisCommand("HMGET", [.string(prefix + ":stock")] + fields), RedisCommand("HMGET", [.string(prefix + ":held")] + fields),
        ])
        let onHand = replies[0].elements ?? []
        let held = replies[1].elements ?? []
        for (index, sku) in skus.enumerated() where index < onHand.count {
            guard let units = onHand[index].int64 else { continue }
            stock[sku] = (units, max(0, index < held.count ? held[index].int64 ?? 0 : 0))
        }
        return stock
    }

    public func archived(_ stream: StreamID) async throws -> StoredStream? {
        try checkOpen()
        let reply = try await redis.send(RedisCommand("HGETALL", [.string(meta(stream))]))
        guard let stored = try? Self.stream(stream, reply), stored.archivedAt != nil else { return nil }
        return stored
    }

    public func pruneArchive(before: Int64) async throws -> Int {
        try checkOpen()
        return Int(try await redis.evaluate(Self.pruneScript, keys: [], arguments: [.string(prefix), .integer(before)]).int64 ?? 0)
    }

    public func close() async throws {
        closed.store(true, ordering: .relaxed)
    }

    private func checkOpen() throws {
        guard !closed.load(ordering: .relaxed) else { throw StateStoreError(.closed, "the Redis state store is closed") }
    }

    // MARK: - Keys and encodings

    private func meta(_ stream: StreamID) -> String { prefix + ":s:{" + stream.rawValue + "}" }
    private func events(_ stream: StreamID) -> String { prefix + ":s:{" + stream.rawValue + "}:e" }

    /// Units of one SKU held by a checkout, as kept in `p:holds`: the SKU as its field in
    /// `p:stock` and `p:held` (so that the script finds them), and the units.
    private struct HeldUnits: Codable {
        var f: String
        var u: Int64
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()
    private static let decoder = JSONDecoder()

    private static func field(_ sku: SKU) throws -> String {
        String(decoding: try encoder.encode(sku), as: UTF8.self)
    }

    private static func field(hold checkoutID: String, _ merchant: String) throws -> String {
        String(decoding: try encoder.encode([checkoutID, merchant]), as: UTF8.self)
    }

    private static func stream(_ id: StreamID, _ reply: RESPValue) throws -> StoredStream {
        var fields: [String: ByteBuffer] = [:]
        for pair in reply.pairs ?? [] {
            if let key = pair.key.string, let value = pair.value.bytes { fields[key] = value }
        }
        func text(_ name: String) -> String? { fields[name].map { String(buffer: $0) } }
        func number(_ name: String) -> Int64? { text(name).flatMap { Int64($0) } }
        guard let epoch = text("epoch"), let createdAt = number("created_at") else { throw StateStoreError(.corrupted, "stream '\(id.rawValue)' could not be read") }
        var stored = StoredStream(stream: id, epoch: epoch, createdAt: createdAt, owner: text("owner"), archivedAt: number("archived_at"))
        if let room = fields["room"], let seq = number("room_seq"), seq >= 0 {
            stored.room = StoredRoom(seq: UInt64(seq), savedAt: number("room_saved_at") ?? 0, data: Array(buffer: room))
        }
        return stored
    }

    /// XRANGE's entries: `[id, [ts, <ts>, p, <payload>]]`, the id `<seq>-0`.
    private static func events(_ reply: RESPValue) -> [StoredEvent] {
        (reply.elements ?? []).compactMap { entry in
            guard let parts = entry.elements, parts.count == 2, let id = parts[0].string, let seq = id.split(separator: "-").first.flatMap({ UInt64($0) }),
                let fields = parts[1].pairs
            else { return nil }
            var timestamp: Int64?
            var payload: ByteBuffer?
            for pair in fields {
                switch pair.key.string {
                case "ts": timestamp = pair.value.int64
                case "p": payload = pair.value.bytes
                default: break
                }
            }
            guard let timestamp, let payload else { return nil }
            return StoredEvent(seq: seq, timestamp: timestamp, payload: Data(payload.readableBytesView))
        }
    }
}
