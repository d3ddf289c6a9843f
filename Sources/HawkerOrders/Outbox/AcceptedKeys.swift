import HawkerProtocol
import Synchronization

/// Which (buyer, idempotency key) pairs the outbox may hold, as 64-bit hashes in memory:
/// a checkout whose pair is not here was never accepted, and skips the outbox lookup (a
/// read transaction per checkout, most of them new). A pair that is here is looked up.
///
/// Every pair is added before its checkout is committed and removed only with its row,
/// so "not here" is exact; a hash shared by two pairs (about 1 in 10^19 per pair) only
/// costs a lookup, or at worst sends a retry to the room, whose append then finds the
/// first checkout and answers with it.
public final class AcceptedKeys: Sendable {
    private let hashes = Mutex<Set<UInt64>>([])

    public init() {}

    static func hash(buyer: String, idempotencyKey: String) -> UInt64 {
        FNV1a.hash(buyer + "\u{0}" + idempotencyKey)
    }

    /// False when `buyer` never had a checkout accepted with `idempotencyKey`.
    public func mayContain(buyer: String, idempotencyKey: String) -> Bool {
        let hash = Self.hash(buyer: buyer, idempotencyKey: idempotencyKey)
        return hashes.withLock { $0.contains(hash) }
    }

    func insert(buyer: String, idempotencyKey: String) {
        let hash = Self.hash(buyer: buyer, idempotencyKey: idempotencyKey)
        hashes.withLock { _ = $0.insert(hash) }
    }

    func insert(_ pairs: some Sequence<UInt64>) {
        hashes.withLock { $0.formUnion(pairs) }
    }

    func remove(_ pairs: some Sequence<UInt64>) {
        hashes.withLock { $0.subtract(pairs) }
    }

    public var count: Int { hashes.withLock { $0.count } }
}
