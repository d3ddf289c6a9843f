import NIOCore
import NIOWebSocket

/// Writes server-side (unmasked) frame headers, so that a frame can be built as one
/// buffer, header and payload together, and then written to any number of channels.
public enum WebSocketFrameHeader {
    /// The header size for a payload of `length` bytes.
    public static func size(payloadLength length: Int) -> Int {
        length < 126 ? 2 : (length <= Int(UInt16.max) ? 4 : 10)
    }

    public static func write(into buffer: inout ByteBuffer, opcode: WebSocketOpcode, fin: Bool = true, rsv1: Bool = false, payloadLength length: Int) {
        var first = UInt8(webSocketOpcode: opcode)
        if fin { first |= 0x80 }
        if rsv1 { first |= 0x40 }
        if length < 126 {
            buffer.writeMultipleIntegers(first, UInt8(length))
        } else if length <= Int(UInt16.max) {
            buffer.writeMultipleIntegers(first, UInt8(126), UInt16(length))
        } else {
            buffer.writeMultipleIntegers(first, UInt8(127), UInt64(length))
        }
    }

    /// One complete frame: header followed by `payload`. When the payload was encoded with
    /// room in front of it (the server's messages leave `ServerMessage.frameHeadroom`
    /// bytes) and the caller hands it over, the header is written there: no new buffer,
    /// no copy. Otherwise the payload is copied behind a new header.
    public static func frame(opcode: WebSocketOpcode, rsv1: Bool = false, payload: consuming ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        let length = payload.readableBytes
        let headerSize = size(payloadLength: length)
        if payload.readerIndex >= headerSize {
            // `payload` is ours (consuming): unless the caller kept a copy, the header is
            // written into the same storage without copy-on-write.
            let start = payload.readerIndex - headerSize
            let header = headerBytes(opcode: opcode, rsv1: rsv1, payloadLength: length)
            payload.moveReaderIndex(to: start)
            withUnsafeBytes(of: header) { bytes in
                _ = payload.setBytes(UnsafeRawBufferPointer(rebasing: bytes.prefix(headerSize)), at: start)
            }
            return payload
        }
        var framed = allocator.buffer(capacity: headerSize + length)
        write(into: &framed, opcode: opcode, rsv1: rsv1, payloadLength: length)
        framed.writeImmutableBuffer(payload)
        return framed
    }

    /// A final frame's header bytes in 16 bytes of stack (the first `size(payloadLength:)`
    /// count), without allocating.
    private static func headerBytes(opcode: WebSocketOpcode, rsv1: Bool, payloadLength length: Int) -> (UInt64, UInt64) {
        var first = UInt8(webSocketOpcode: opcode) | 0x80
        if rsv1 { first |= 0x40 }
        var bytes: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &bytes) { out in
            out[0] = first
            if length < 126 {
                out[1] = UInt8(length)
            } else if length <= Int(UInt16.max) {
                out[1] = 126
                out[2] = UInt8(length >> 8)
                out[3] = UInt8(length & 0xff)
            } else {
                out[1] = 127
                for index in 0..<8 { out[2 + index] = UInt8((UInt64(length) >> (56 - 8 * UInt64(index))) & 0xff) }
            }
        }
        return bytes
    }

    /// One complete text frame; `compressed` sets RSV1 for a permessage-deflate payload.
    public static func textFrame(_ payload: consuming ByteBuffer, compressed: Bool = false, allocator: ByteBufferAllocator) -> ByteBuffer {
        frame(opcode: .text, rsv1: compressed, payload: consume payload, allocator: allocator)
    }

    /// A close frame with a code and a reason cut to fit the 125-byte control frame limit.
    public static func closeFrame(code: UInt16, reason: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var payload = allocator.buffer(capacity: 125)
        payload.writeInteger(code)
        var reasonBytes = Array(reason.utf8.prefix(123))
        // Do not cut a multi-byte character in half.
        while !reasonBytes.isEmpty, String(validating: reasonBytes, as: UTF8.self) == nil {
            reasonBytes.removeLast()
        }
        payload.writeBytes(reasonBytes)
        return frame(opcode: .connectionClose, payload: payload, allocator: allocator)
    }
}
