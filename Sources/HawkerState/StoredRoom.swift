/// A saved copy of a stream's room: opaque bytes for the store (the room's own encoding),
/// taken after the stream's event `seq`.
public struct StoredRoom: Sendable, Hashable {
    public var seq: UInt64
    public var savedAt: Int64
    public var data: [UInt8]

    public init(seq: UInt64, savedAt: Int64, data: [UInt8]) {
        self.seq = seq
        self.savedAt = savedAt
        self.data = data
    }
}
