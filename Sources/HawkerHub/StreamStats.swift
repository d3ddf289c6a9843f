import HawkerProtocol

/// One stream as operators see it: how many subscribe, how many events it has had.
public struct StreamStats: Sendable, Hashable {
    public var stream: StreamID
    public var subscribers: Int
    public var events: UInt64

    public init(stream: StreamID, subscribers: Int, events: UInt64) {
        self.stream = stream
        self.subscribers = subscribers
        self.events = events
    }
}
