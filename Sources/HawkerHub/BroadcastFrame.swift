import NIOCore

/// One event, framed once for every viewer: the complete WebSocket frame (header and
/// JSON payload in one buffer) and, when compression is on and pays, a deflated frame
/// valid for every connection that negotiated permessage-deflate with a full window.
public struct BroadcastFrame: Sendable {
    public let seq: UInt64
    public let plain: ByteBuffer
    public let deflated: ByteBuffer?
    /// When the event was sequenced (monotonic), for publish-to-write latency.
    public let sequencedAt: NIODeadline

    public init(seq: UInt64, plain: ByteBuffer, deflated: ByteBuffer?, sequencedAt: NIODeadline = .now()) {
        self.seq = seq
        self.plain = plain
        self.deflated = deflated
        self.sequencedAt = sequencedAt
    }
}
