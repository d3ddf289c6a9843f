/// A point in a stream's history: the epoch names one continuous history, `seq` counts
/// events within it (the first event is 1, so 0 means "nothing yet").
public struct StreamPosition: Sendable, Hashable, Codable {
    public var epoch: String
    public var seq: UInt64

    public init(epoch: String, seq: UInt64) {
        self.epoch = epoch
        self.seq = seq
    }
}
