import NIOCore
import NIOWebSocket

/// Reads client frames (RFC 6455 §5.2) off the bytes of a connection, inside
/// `WebSocketConnectionHandler`: the frames and refusals of NIOWebSocket's
/// `WebSocketFrameDecoder`, without a `ByteToMessageHandler` and its buffers per
/// connection (about 0.6 KiB of every idle one) or a boxed frame per read.
///
/// It checks what that decoder checks, at the same point (as soon as the length is
/// known): the length against `maxFrameSize`, and that a control frame is neither
/// fragmented nor longer than 125 bytes. Everything else (masking, reserved bits and
/// opcodes, fragmentation order) is `WebSocketMessageAssembler`'s. `FuzzWebSocketFrameParser`
/// and the tests hold it to NIO's decoder byte for byte.
public struct WebSocketFrameParser: Sendable {
    public enum Failure: Error, Equatable {
        /// Longer than `maxFrameSize` (close code 1009).
        case tooLarge
        /// A fragmented control frame, or one longer than 125 bytes (close code 1002).
        case invalidControlFrame
    }

    public let maxFrameSize: Int

    public init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    /// The first whole frame in `buffer`, read off it; nil, reading nothing, while `buffer`
    /// holds only part of one (at most a header and `maxFrameSize` bytes wait).
    public func next(_ buffer: inout ByteBuffer) throws(Failure) -> WebSocketFrame? {
        let start = buffer.readerIndex
        guard let (first, second) = buffer.getMultipleIntegers(at: start, as: (UInt8, UInt8).self) else { return nil }
        var offset = 2
        let length: Int
        switch second & 0x7F {
        case 126:
            guard let word = buffer.getInteger(at: start + offset, as: UInt16.self) else { return nil }
            length = Int(word)
            offset += 2
        case 127:
            guard let quad = buffer.getInteger(at: start + offset, as: UInt64.self) else { return nil }
            guard quad <= UInt64(Int.max) else { throw .tooLarge }
            length = Int(quad)
            offset += 8
        case let short:
            length = Int(short)
        }
        guard length <= maxFrameSize else { throw .tooLarge }
        if first & 0x08 != 0 {
            guard first & 0x80 != 0, length <= 125 else { throw .invalidControlFrame }
        }
        var maskKey: WebSocketMaskingKey?
        if second & 0x80 != 0 {
            // A view, not an array: no allocation for the key.
            guard let key = buffer.viewBytes(at: start + offset, length: 4) else { return nil }
            maskKey = WebSocketMaskingKey(key)
            offset += 4
        }
        guard buffer.readableBytes - offset >= length, let data = buffer.getSlice(at: start + offset, length: length) else { return nil }
        buffer.moveReaderIndex(forwardBy: offset + length)
        return WebSocketFrame(
            fin: first & 0x80 != 0, rsv1: first & 0x40 != 0, rsv2: first & 0x20 != 0, rsv3: first & 0x10 != 0,
            opcode: WebSocketOpcode(encodedWebSocketOpcode: first & 0x0F)!, maskKey: maskKey, data: data
        )
    }
}
