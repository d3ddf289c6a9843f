import NIOCore
import NIOWebSocket

/// A frame as a client sent it, its payload unmasked: what `WebSocketFrameParser` reads
/// and `WebSocketMessageAssembler` takes. No storage of its own: NIO's `WebSocketFrame`
/// allocates for each frame, and building its masking key from bytes allocated four times.
public struct WebSocketClientFrame: Sendable, Equatable {
    /// FIN, RSV1-3 and the opcode, as on the wire.
    public var firstByte: UInt8
    /// Whether the client masked it, as it must (RFC 6455 §5.3).
    public var masked: Bool
    /// The payload, unmasked.
    public var data: ByteBuffer

    public var fin: Bool { firstByte & 0x80 != 0 }
    public var rsv1: Bool { firstByte & 0x40 != 0 }
    public var rsv2: Bool { firstByte & 0x20 != 0 }
    public var rsv3: Bool { firstByte & 0x10 != 0 }
    /// Every value of the four bits is an opcode (reserved ones too).
    public var opcode: WebSocketOpcode { WebSocketOpcode(encodedWebSocketOpcode: firstByte & 0x0F)! }

    public init(firstByte: UInt8, masked: Bool, data: ByteBuffer) {
        self.firstByte = firstByte
        self.masked = masked
        self.data = data
    }

    public init(fin: Bool = true, rsv1: Bool = false, rsv2: Bool = false, rsv3: Bool = false, opcode: WebSocketOpcode, masked: Bool = true, data: ByteBuffer) {
        var first = UInt8(webSocketOpcode: opcode)
        if fin { first |= 0x80 }
        if rsv1 { first |= 0x40 }
        if rsv2 { first |= 0x20 }
        if rsv3 { first |= 0x10 }
        self.init(firstByte: first, masked: masked, data: data)
    }
}
