import Foundation

/// An event as kept for resume: its position and the JSON of the `event` message viewers
/// received (from which the hub rebuilds the frame and the room replays it).
public struct StoredEvent: Sendable, Hashable {
    public var seq: UInt64
    public var timestamp: Int64
    public var payload: Data

    public init(seq: UInt64, timestamp: Int64, payload: Data) {
        self.seq = seq
        self.timestamp = timestamp
        self.payload = payload
    }
}
