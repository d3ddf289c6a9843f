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

    /// One complete frame: header followed by `payload`.
    public static func frame(opcode: WebSocketOpcode, rsv1: Bool = false, payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: size(payloadLength: payload.readableBytes) + payload.readableBytes)
        write(into: &buffer, opcode: opcode, rsv1: rsv1, payloadLength: payload.readableBytes)
        buffer.writeImmutableBuffer(payload)
        return buffer
    }

    /// One complete text frame; `compressed` sets RSV1 for a permessage-deflate payload.
    public static func textFrame(_ payload: ByteBuffer, compressed: Bool = false, allocator: ByteBufferAllocator) -> ByteBuffer {
        frame(opcode: .text, rsv1: compressed, payload: payload, allocator: allocator)
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
