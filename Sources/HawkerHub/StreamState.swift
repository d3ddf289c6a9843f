import HawkerProtocol
import NIOCore

/// One stream's event log on its home event loop: sequence numbers and the history ring
/// for resume. (What a late joiner sees is the room's typed state, not this log.)
///
/// With a state store, an event is sequenced first and committed once the store has it:
/// only committed events are in history, go out to viewers and count for resume, so a
/// viewer never sees an event that a `kill -9` could take back.
public struct StreamState: Sendable {
    public let stream: StreamID
    public let epoch: String
    /// The last sequenced event.
    public private(set) var seq: UInt64
    /// The last committed event (in history, sent to viewers).
    public private(set) var committedSeq: UInt64
    private var history: HistoryRing

    /// What a subscriber gets first.
    public enum Start: Sendable {
        /// Exactly the missed frames, oldest first (possibly none).
        case replay([BroadcastFrame])
        /// The gap cannot be replayed: send the snapshot, `recovered: false`.
        case snapshot
    }

    public init(
        stream: StreamID, epoch: String, seq: UInt64 = 0, historyCapacity: Int, historyMaxBytes: Int = .max, historyMaxAgeMilliseconds: Int64
    ) {
        self.stream = stream
        self.epoch = epoch
        self.seq = seq
        self.committedSeq = seq
        self.history = HistoryRing(capacity: historyCapacity, maxBytes: historyMaxBytes, maxAgeMilliseconds: historyMaxAgeMilliseconds)
    }

    /// The committed position: what a resume is measured against.
    public var position: StreamPosition { StreamPosition(epoch: epoch, seq: committedSeq) }
    /// The position after every sequenced event, committed or not.
    public var latestPosition: StreamPosition { StreamPosition(epoch: epoch, seq: seq) }
    public var hasUncommitted: Bool { seq > committedSeq }

    /// Sequences `draft` (already completed by the room), records the framed event in
    /// history and returns it: sequencing and committing at once, without a store.
    public mutating func append(_ draft: EventDraft, now: Int64, frame: (StreamEvent) -> BroadcastFrame) -> (StreamEvent, BroadcastFrame) {
        let (event, framed) = sequence(draft, now: now, frame: frame)
        commit(framed, timestamp: now, now: now)
        return (event, framed)
    }

    /// Gives `draft` the next seq and frames it; `commit` records it later.
    public mutating func sequence(_ draft: EventDraft, now: Int64, frame: (StreamEvent) -> BroadcastFrame) -> (StreamEvent, BroadcastFrame) {
        seq += 1
        let event = StreamEvent(stream: stream, epoch: epoch, seq: seq, timestamp: now, draft: draft)
        return (event, frame(event))
    }

    /// Records a sequenced event (the store has it) in history; events commit in order.
    public mutating func commit(_ frame: BroadcastFrame, timestamp: Int64, now: Int64) {
        history.prune(now: now)
        history.append(.init(seq: frame.seq, timestamp: timestamp, frame: frame))
        // Restoring commits kept events after a seq set from the store: it stays.
        committedSeq = max(committedSeq, frame.seq)
    }

    /// Records an event another node sequenced and stored (a replica's): it becomes the
    /// last sequenced and committed one. Events arrive in order, each the next seq.
    public mutating func commitReplicated(_ frame: BroadcastFrame, timestamp: Int64, now: Int64) {
        seq = max(seq, frame.seq)
        commit(frame, timestamp: timestamp, now: now)
    }

    /// How a subscriber that last saw `since` starts.
    public mutating func start(since: StreamPosition?, now: Int64) -> Start {
        guard let since, since.epoch == epoch, since.seq <= committedSeq else { return .snapshot }
        history.prune(now: now)
        guard let frames = history.frames(after: since.seq, upTo: committedSeq) else { return .snapshot }
        return .replay(frames)
    }

    public var historyCount: Int { history.count }
    public var historyBytes: Int { history.bytes }
    /// The oldest event still held for resume.
    public var oldestHeldSeq: UInt64? { history.oldestSeq }

    /// Forgets every kept event (a restore found a gap in the stored ones): a resume from
    /// before gets the snapshot.
    public mutating func forgetHistory() {
        history.removeAll()
    }

    /// Drops history older than its age bound, without waiting for the next event (a
    /// stream whose host left would otherwise hold its last events for good).
    public mutating func pruneHistory(now: Int64) {
        history.prune(now: now)
    }
}
