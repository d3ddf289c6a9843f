import HawkerProtocol

/// Everything a store keeps about one stream.
public struct StoredStream: Sendable, Hashable {
    public var stream: StreamID
    public var epoch: String
    public var createdAt: Int64
    /// Who created it, when that counts against a quota.
    public var owner: String?
    /// The last saved room, if any was saved.
    public var room: StoredRoom?
    /// The kept events, oldest first (none for an archived stream).
    public var events: [StoredEvent]
    /// When it was archived; nil while it is live.
    public var archivedAt: Int64?

    public init(
        stream: StreamID, epoch: String, createdAt: Int64, owner: String?, room: StoredRoom? = nil, events: [StoredEvent] = [], archivedAt: Int64? = nil
    ) {
        self.stream = stream
        self.epoch = epoch
        self.createdAt = createdAt
        self.owner = owner
        self.room = room
        self.events = events
        self.archivedAt = archivedAt
    }

    /// The last sequence number it used: its last event's, or its room's when every event
    /// was trimmed.
    public var seq: UInt64 { max(events.last?.seq ?? 0, room?.seq ?? 0) }
}
