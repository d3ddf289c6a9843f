import NIOCore

/// The last events of a stream, bounded by count and by age, kept as ready frames so
/// that a resuming viewer is replayed without re-encoding anything.
struct HistoryRing: Sendable {
    struct Entry: Sendable {
        var seq: UInt64
        var timestamp: Int64
        var frame: BroadcastFrame
    }

    private var entries: CircularBuffer<Entry>
    let capacity: Int
    let maxAgeMilliseconds: Int64

    init(capacity: Int, maxAgeMilliseconds: Int64) {
        precondition(capacity > 0, "history capacity must be positive")
        self.capacity = capacity
        self.maxAgeMilliseconds = maxAgeMilliseconds
        self.entries = CircularBuffer(initialCapacity: min(capacity, 16))
    }

    var count: Int { entries.count }
    var oldestSeq: UInt64? { entries.first?.seq }

    mutating func append(_ entry: Entry) {
        if entries.count == capacity { entries.removeFirst() }
        entries.append(entry)
    }

    mutating func prune(now: Int64) {
        while let first = entries.first, now - first.timestamp > maxAgeMilliseconds {
            entries.removeFirst()
        }
    }

    /// The frames after `seq`, or nil when some of them are no longer held.
    func frames(after seq: UInt64, upTo latest: UInt64) -> [BroadcastFrame]? {
        if seq == latest { return [] }
        guard let oldest = entries.first?.seq, oldest <= seq + 1 else { return nil }
        let start = Int(seq + 1 - oldest)
        guard start < entries.count else { return nil }
        return entries[entries.index(entries.startIndex, offsetBy: start)...].map(\.frame)
    }
}
