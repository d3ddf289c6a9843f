import HawkerProtocol
import NIOCore

/// What a viewer whose connection is backed up is still owed: the latest frame per state
/// key (price, stock, pins, counters) and a count of the chat batches it missed.
///
/// A backed-up viewer is sent nothing more until its socket drains; then it gets a `gap`
/// notice per stream and the coalesced frames in their original order, and is up to date
/// again. Memory is bounded by the number of distinct keys, not by the event rate.
public struct DeliveryBacklog: Sendable {
    public struct Gap: Sendable, Hashable {
        public var stream: StreamID
        /// State frames superseded by a later one with the same key.
        public var coalesced: Int
        /// Chat batches dropped.
        public var chatBatchesMissed: Int
        /// Chat messages in them.
        public var chatMessagesMissed: Int
    }

    private struct Key: Hashable {
        var stream: StreamID
        var key: String
    }

    private var pending: [Key: (order: Int, frame: BroadcastFrame)] = [:]
    private var gaps: [StreamID: Gap] = [:]
    private var order = 0
    /// Bytes of the frames held (what the viewer will be sent when it drains).
    public private(set) var bytes = 0

    public init() {}

    public var isEmpty: Bool { pending.isEmpty && gaps.isEmpty }

    public enum Held: Sendable, Hashable {
        case kept
        /// An older frame with the same key was dropped for this one.
        case replaced
        /// A keyless frame (a chat batch): dropped and counted.
        case dropped
    }

    /// Holds `frame` for later: replaces an older one with the same key, or counts a
    /// dropped chat batch.
    @discardableResult
    public mutating func hold(_ frame: BroadcastFrame, from stream: StreamID) -> Held {
        guard let key = frame.coalescingKey else {
            gaps[stream, default: Gap(stream: stream, coalesced: 0, chatBatchesMissed: 0, chatMessagesMissed: 0)].chatBatchesMissed += 1
            gaps[stream]!.chatMessagesMissed += frame.itemCount
            return .dropped
        }
        order += 1
        bytes += frame.plain.readableBytes
        guard let previous = pending.updateValue((order, frame), forKey: Key(stream: stream, key: key)) else { return .kept }
        bytes -= previous.frame.plain.readableBytes
        gaps[stream, default: Gap(stream: stream, coalesced: 0, chatBatchesMissed: 0, chatMessagesMissed: 0)].coalesced += 1
        return .replaced
    }

    /// Everything held, and resets: the gaps to announce, then the frames to write, oldest first.
    public mutating func drain() -> (gaps: [Gap], frames: [(stream: StreamID, frame: BroadcastFrame)]) {
        let frames = pending.sorted { $0.value.order < $1.value.order }.map { (stream: $0.key.stream, frame: $0.value.frame) }
        let gaps = self.gaps.values.sorted { $0.stream.rawValue < $1.stream.rawValue }
        pending = [:]
        self.gaps = [:]
        bytes = 0
        return (gaps, frames)
    }
}
