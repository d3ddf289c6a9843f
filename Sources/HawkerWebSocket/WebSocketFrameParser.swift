import NIOCore
import NIOWebSocket

/// Reads client frames (RFC 6455 §5.2) off the bytes of a connection, inside
/// `WebSocketConnectionHandler`: the frames and refusals of NIOWebSocket's
/// `WebSocketFrameDecoder`, without a `ByteToMessageHandler` and its buffers per
/// connection (about 0.6 KiB of every idle one).
///
/// It checks what that decoder checks, at the same point (as soon as the length is
/// known): the length against `maxFrameSize`, and that a control frame is neither
/// fragmented nor longer than 125 bytes. Everything else (masking, reserved bits and
/// opcodes, fragmentation order) is `WebSocketMessageAssembler`'s. `FuzzWebSocketFrames`
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

    /// The first whole frame in `buffer`, read off it and unmasked; nil, reading nothing,
    /// while `buffer` holds only part of one (at most a header and `maxFrameSize` bytes wait).
    public func next(_ buffer: inout ByteBuffer) throws(Failure) -> WebSocketClientFrame? {
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
        let masked = second & 0x80 != 0
        // The key's bytes in wire order: the first in the low byte.
        var key: UInt32 = 0
        if masked {
            guard let read = buffer.getInteger(at: start + offset, endianness: .little, as: UInt32.self) else { return nil }
            key = read
            offset += 4
        }
        guard buffer.readableBytes - offset >= length, var data = buffer.getSlice(at: start + offset, length: length) else { return nil }
        buffer.moveReaderIndex(forwardBy: offset + length)
        if masked, length > 0 { Self.unmask(&data, key: key) }
        return WebSocketClientFrame(firstByte: first, masked: masked, data: data)
    }

    /// XORs each byte with the key's byte for its position (§5.3), in the payload's own
    /// copy: a slice of a buffer others hold is copied on the first write.
    static func unmask(_ data: inout ByteBuffer, key: UInt32) {
        data.withUnsafeMutableReadableBytes { bytes in
            var index = 0
            // Eight bytes at a time where they line up, then the rest.
            let wide = UInt64(key) | UInt64(key) << 32
            while bytes.count - index >= 8 {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                bytes.storeBytes(of: word ^ wide.littleEndian, toByteOffset: index, as: UInt64.self)
                index += 8
            }
            while index < bytes.count {
                bytes[index] ^= UInt8(truncatingIfNeeded: key >> (UInt32(index & 3) * 8))
                index += 1
            }
        }
    }
}
