import HawkerProtocol
import NIOCore

/// One stream's state on its home event loop: sequence numbers, the latest event per
/// state key (what a late joiner's snapshot holds) and the history ring for resume.
public struct StreamState: Sendable {
    public let stream: StreamID
    public let epoch: String
    public private(set) var seq: UInt64 = 0
    private var latestByKey: [String: StreamEvent] = [:]
    private var history: HistoryRing

    /// What a subscriber gets first.
    public enum Start: Sendable {
        /// Exactly the missed frames, oldest first (possibly none).
        case replay([BroadcastFrame])
        /// The gap cannot be replayed: send the snapshot, `recovered: false`.
        case snapshot
    }

    public init(stream: StreamID, epoch: String, historyCapacity: Int, historyMaxAgeMilliseconds: Int64) {
        self.stream = stream
        self.epoch = epoch
        self.history = HistoryRing(capacity: historyCapacity, maxAgeMilliseconds: historyMaxAgeMilliseconds)
    }

    public var position: StreamPosition { StreamPosition(epoch: epoch, seq: seq) }

    /// Sequences `draft`, fills in what the server knows (a price change's previous
    /// price), records the framed event in history and state, and returns it.
    public mutating func append(_ draft: EventDraft, now: Int64, frame: (StreamEvent) -> BroadcastFrame) -> (StreamEvent, BroadcastFrame) {
        var draft = draft
        if draft.kind == .priceChanged {
            var data = draft.data
            // The last price of this product, or else its price when it was pinned.
            let pinned = latestByKey["pinned"].flatMap { $0.kind == .productPinned && $0.data["product"] == data["product"] ? $0 : nil }
            data["previous"] = latestByKey[draft.stateKey]?.data["price"] ?? pinned?.data["price"]
            draft = draft.withData(data)
        }
        seq += 1
        let event = StreamEvent(stream: stream, epoch: epoch, seq: seq, timestamp: now, draft: draft)
        let framed = frame(event)
        latestByKey[event.stateKey] = event
        history.prune(now: now)
        history.append(.init(seq: seq, timestamp: now, frame: framed))
        return (event, framed)
    }

    /// The latest event per state key, in publication order.
    public var snapshot: [StreamEvent] {
        latestByKey.values.sorted { $0.seq < $1.seq }
    }

    /// How a subscriber that last saw `since` starts.
    public mutating func start(since: StreamPosition?, now: Int64) -> Start {
        guard let since, since.epoch == epoch, since.seq <= seq else { return .snapshot }
        history.prune(now: now)
        guard let frames = history.frames(after: since.seq, upTo: seq) else { return .snapshot }
        return .replay(frames)
    }

    public var historyCount: Int { history.count }
}
