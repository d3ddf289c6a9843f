import HawkerProtocol
import NIOCore

/// One stream's event log on its home event loop: sequence numbers and the history ring
/// for resume. (What a late joiner sees is the room's typed state, not this log.)
public struct StreamState: Sendable {
    public let stream: StreamID
    public let epoch: String
    public private(set) var seq: UInt64 = 0
    private var history: HistoryRing

    /// What a subscriber gets first.
    public enum Start: Sendable {
        /// Exactly the missed frames, oldest first (possibly none).
        case replay([BroadcastFrame])
        /// The gap cannot be replayed: send the snapshot, `recovered: false`.
        case snapshot
    }

    public init(stream: StreamID, epoch: String, historyCapacity: Int, historyMaxBytes: Int = .max, historyMaxAgeMilliseconds: Int64) {
        self.stream = stream
        self.epoch = epoch
        self.history = HistoryRing(capacity: historyCapacity, maxBytes: historyMaxBytes, maxAgeMilliseconds: historyMaxAgeMilliseconds)
    }

    public var position: StreamPosition { StreamPosition(epoch: epoch, seq: seq) }

    /// Sequences `draft` (already completed by the room), records the framed event in
    /// history and returns it.
    public mutating func append(_ draft: EventDraft, now: Int64, frame: (StreamEvent) -> BroadcastFrame) -> (StreamEvent, BroadcastFrame) {
        seq += 1
        let event = StreamEvent(stream: stream, epoch: epoch, seq: seq, timestamp: now, draft: draft)
        let framed = frame(event)
        history.prune(now: now)
        history.append(.init(seq: seq, timestamp: now, frame: framed))
        return (event, framed)
    }

    /// How a subscriber that last saw `since` starts.
    public mutating func start(since: StreamPosition?, now: Int64) -> Start {
        guard let since, since.epoch == epoch, since.seq <= seq else { return .snapshot }
        history.prune(now: now)
        guard let frames = history.frames(after: since.seq, upTo: seq) else { return .snapshot }
        return .replay(frames)
    }

    public var historyCount: Int { history.count }
    public var historyBytes: Int { history.bytes }

    /// Drops history older than its age bound, without waiting for the next event (a
    /// stream whose host left would otherwise hold its last events for good).
    public mutating func pruneHistory(now: Int64) {
        history.prune(now: now)
    }
}
