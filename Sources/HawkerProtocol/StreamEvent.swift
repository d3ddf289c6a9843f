/// A sequenced event: what viewers receive as an `event` push and what a snapshot holds.
public struct StreamEvent: Sendable, Hashable {
    public let stream: StreamID
    public let epoch: String
    public let seq: UInt64
    /// Server time, milliseconds since the Unix epoch.
    public let timestamp: Int64
    public let kind: EventKind
    public let stateKey: String
    public let data: [String: JSONValue]

    public init(stream: StreamID, epoch: String, seq: UInt64, timestamp: Int64, draft: EventDraft) {
        self.stream = stream
        self.epoch = epoch
        self.seq = seq
        self.timestamp = timestamp
        self.kind = draft.kind
        self.stateKey = draft.stateKey
        self.data = draft.data
    }

    public var position: StreamPosition { StreamPosition(epoch: epoch, seq: seq) }
}
