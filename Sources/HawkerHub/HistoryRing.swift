import NIOCore

/// The last events of a stream, bounded by count, by bytes and by age, kept as ready
/// frames so that a resuming viewer is replayed without re-encoding anything.
struct HistoryRing: Sendable {
    struct Entry: Sendable {
        var seq: UInt64
        var timestamp: Int64
        var frame: BroadcastFrame

        /// What the entry keeps alive: its frames (plain, and deflated when there is one).
        var bytes: Int { frame.plain.readableBytes + (frame.deflated?.readableBytes ?? 0) }
    }

    private var entries: CircularBuffer<Entry>
    let capacity: Int
    let maxBytes: Int
    let maxAgeMilliseconds: Int64
    private(set) var bytes = 0

    init(capacity: Int, maxBytes: Int = .max, maxAgeMilliseconds: Int64) {
        precondition(capacity > 0, "history capacity must be positive")
        self.capacity = capacity
        self.maxBytes = maxBytes
        self.maxAgeMilliseconds = maxAgeMilliseconds
        self.entries = CircularBuffer(initialCapacity: min(capacity, 16))
    }

    var count: Int { entries.count }
    var oldestSeq: UInt64? { entries.first?.seq }

    /// Appends, first dropping the oldest entries that would pass the count or the byte
    /// bound. An event larger than the whole byte bound is not kept (nor anything before
    /// it): a resume across it gets the snapshot.
    mutating func append(_ entry: Entry) {
        let size = entry.bytes
        while let first = entries.first, entries.count >= capacity || bytes + size > maxBytes {
            bytes -= first.bytes
            entries.removeFirst()
        }
        guard size <= maxBytes else { return }
        entries.append(entry)
        bytes += size
    }

    mutating func removeAll() {
        entries.removeAll()
        bytes = 0
    }

    mutating func prune(now: Int64) {
        while let first = entries.first, now - first.timestamp > maxAgeMilliseconds {
            bytes -= first.bytes
            entries.removeFirst()
        }
    }

    /// The frames after `seq`, or nil when some of them are no longer held.
    func frames(after seq: UInt64, upTo latest: UInt64) -> [BroadcastFrame]? {
        if seq == latest { return [] }
        guard let oldest = entries.first?.seq, oldest <= seq + 1 else { return nil }
        let start = Int(seq + 1 - oldest)
        guard start < entries.count else { return nil }
        let first = entries.index(entries.startIndex, offsetBy: start)
        // Seqs are consecutive here (a restore starts history over at a gap): checked.
        guard entries[first].seq == seq + 1 else { return nil }
        return entries[first...].map(\.frame)
    }
}
