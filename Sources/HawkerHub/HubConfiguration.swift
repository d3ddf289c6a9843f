import HawkerCommerce

/// Limits of the hub. Every one is bounded by default.
public struct HubConfiguration: Sendable {
    /// Events kept per stream for resume.
    public var historyCapacity: Int
    /// Bytes of framed events kept per stream for resume.
    public var historyMaxBytes: Int
    /// How old a kept event may be, in milliseconds.
    public var historyMaxAgeMilliseconds: Int64
    /// Streams one gateway holds at once.
    public var maxStreams: Int
    /// When `maxStreams` is reached, a stream without subscribers and without events for
    /// this long is dropped to make room (its history goes; a later resume gets a
    /// snapshot with a new epoch).
    public var idleStreamMilliseconds: Int64
    /// A stream without subscribers, scheduled work or activity for this long is dropped
    /// whatever the stream count (its state, history and checkout answers go), so that a
    /// gateway that sees many short streams does not keep each one until `maxStreams`.
    /// Nil keeps streams until the limit needs room.
    public var streamRetentionMilliseconds: Int64?
    /// Compress broadcast frames of at least this many bytes once for every viewer
    /// that negotiated permessage-deflate; nil turns broadcast compression off.
    public var compressionMinBytes: Int?
    /// zlib level for broadcast compression (1 fastest ... 9 smallest).
    public var compressionLevel: Int
    /// Chat, questions, intents and catalog rules of every stream.
    public var room: RoomConfiguration
    /// With a state store: how often a changed room is saved. Events are kept as they
    /// are sequenced; what a room counts between saves (chat, questions, moderation,
    /// insights) is what a `kill -9` can take back.
    public var stateSaveIntervalMilliseconds: Int64 = 1_000
    /// A room changed only by its host's events (which a restart replays) is saved at
    /// least every this many save intervals: what a restart replays stays bounded.
    public var replayedRoomSaveIntervals: Int = 60
    /// Merchants that alone set their products' levels (through their API): a host's
    /// `stock.changed` for their products is refused and a catalog's `stock` ignored.
    public var merchantsSettingStock: Set<String> = []
    /// Products and variants whose stock one merchant may have tracked at once.
    public var maxSKUsPerMerchant = 100_000
    /// The registered influencer codes checkouts may credit; nil credits none.
    public var attribution: (any AttributionPolicy)?
    /// Merchants' zones, shipping and tax, read by checkouts and quotes; nil: none.
    public var merchantTerms: (any MerchantTermsPolicy)?
    /// Whether events the state store refused still go out to the viewers (the room has
    /// them already). One gateway: yes, its publishers hear `notStored`. A cluster node:
    /// no, a refusal means another node runs the stream now and sequences its own.
    public var unstoredEventsGoOut = true

    public init(
        historyCapacity: Int = 1_000,
        historyMaxBytes: Int = 1 << 20,
        historyMaxAgeMilliseconds: Int64 = 300_000,
        maxStreams: Int = 100_000,
        idleStreamMilliseconds: Int64 = 3_600_000,
        streamRetentionMilliseconds: Int64? = 86_400_000,
        compressionMinBytes: Int? = 512,
        compressionLevel: Int = 1,
        room: RoomConfiguration = RoomConfiguration()
    ) {
        self.historyCapacity = historyCapacity
        self.historyMaxBytes = historyMaxBytes
        self.historyMaxAgeMilliseconds = historyMaxAgeMilliseconds
        self.maxStreams = maxStreams
        self.idleStreamMilliseconds = idleStreamMilliseconds
        self.streamRetentionMilliseconds = streamRetentionMilliseconds
        self.compressionMinBytes = compressionMinBytes
        self.compressionLevel = compressionLevel
        self.room = room
    }
}
