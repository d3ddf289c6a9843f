import NIOCore

import struct Foundation.Data

/// One event or push, framed once for every viewer: the complete WebSocket frame (header
/// and JSON payload in one buffer) and, when compression is on and pays, a deflated frame
/// valid for every connection that negotiated permessage-deflate with a full window.
public struct BroadcastFrame: Sendable {
    /// The event's seq; 0 for pushes (chat, questions.top, presence, ...).
    public let seq: UInt64
    public let plain: ByteBuffer
    public let deflated: ByteBuffer?
    /// State (events, counters) has a key: a backed-up viewer keeps only the latest frame
    /// per key. Keyless frames (chat batches) are dropped for it and counted.
    public let coalescingKey: String?
    /// Messages the frame carries (a chat batch's length), for the `gap` notice.
    public let itemCount: Int
    /// When the event was sequenced (monotonic), for publish-to-write latency.
    public let sequencedAt: NIODeadline

    public init(seq: UInt64, plain: ByteBuffer, deflated: ByteBuffer?, coalescingKey: String?, itemCount: Int = 1, sequencedAt: NIODeadline = .now()) {
        self.seq = seq
        self.plain = plain
        self.deflated = deflated
        self.coalescingKey = coalescingKey
        self.itemCount = itemCount
        self.sequencedAt = sequencedAt
    }
}

extension BroadcastFrame {
    /// The JSON payload of the plain frame (what a state store keeps of an event).
    var payloadData: Data {
        guard let second = plain.getInteger(at: plain.readerIndex + 1, as: UInt8.self) else { return Data() }
        let length = second & 0x7f
        let header = length == 127 ? 10 : length == 126 ? 4 : 2
        return Data(plain.readableBytesView.dropFirst(header))
    }
}
