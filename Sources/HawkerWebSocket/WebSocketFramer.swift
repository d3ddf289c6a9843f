import NIOCore
import NIOWebSocket

/// Frames a connection's outgoing text messages, compressing them when the connection
/// negotiated permessage-deflate and the message is large enough to gain from it.
public struct WebSocketFramer {
    public let compression: PerMessageDeflateParameters?
    private let deflater: MessageDeflater?
    private let minCompressBytes: Int

    public init(compression: PerMessageDeflateParameters?, deflater: MessageDeflater?, minCompressBytes: Int) {
        self.compression = deflater == nil ? nil : compression
        self.deflater = deflater
        self.minCompressBytes = minCompressBytes
    }

    public static var uncompressed: WebSocketFramer {
        WebSocketFramer(compression: nil, deflater: nil, minCompressBytes: .max)
    }

    /// `payload` is taken over: a message encoded with headroom is framed in place.
    public func textFrame(_ payload: consuming ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        frame(.text, consume payload, allocator: allocator)
    }

    public func frame(_ kind: WebSocketMessage.Kind, _ payload: consuming ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        let opcode: WebSocketOpcode = kind == .text ? .text : .binary
        if let compression, let deflater, payload.readableBytes >= minCompressBytes,
            let compressed = try? deflater.compress(payload, windowBits: compression.serverMaxWindowBits, allocator: allocator)
        {
            return WebSocketFrameHeader.frame(opcode: opcode, rsv1: true, payload: compressed, allocator: allocator)
        }
        return WebSocketFrameHeader.frame(opcode: opcode, payload: consume payload, allocator: allocator)
    }
}
