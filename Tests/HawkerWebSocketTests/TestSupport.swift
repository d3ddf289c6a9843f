import HawkerWebSocket
import NIOCore
import NIOWebSocket

let testMaskKey: WebSocketMaskingKey = [0x37, 0xFA, 0x21, 0x3D]

/// A frame as a client sends it (masked unless `masked: false`, which makes an invalid
/// one), as the parser hands it on: its payload unmasked.
func clientFrame(
    _ opcode: WebSocketOpcode,
    _ bytes: [UInt8],
    fin: Bool = true,
    rsv1: Bool = false,
    rsv2: Bool = false,
    rsv3: Bool = false,
    masked: Bool = true
) -> WebSocketClientFrame {
    WebSocketClientFrame(fin: fin, rsv1: rsv1, rsv2: rsv2, rsv3: rsv3, opcode: opcode, masked: masked, data: ByteBuffer(bytes: bytes))
}

func clientFrame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true, rsv1: Bool = false) -> WebSocketClientFrame {
    clientFrame(opcode, Array(text.utf8), fin: fin, rsv1: rsv1)
}

/// `frame` as a client puts it on the wire: header, masking key (`testMaskKey`), then its
/// data masked with it.
func wire(_ frame: WebSocketClientFrame) -> ByteBuffer {
    var buffer = ByteBuffer()
    let mask: UInt8 = frame.masked ? 0x80 : 0
    let length = frame.data.readableBytes
    if length < 126 {
        buffer.writeMultipleIntegers(frame.firstByte, mask | UInt8(length))
    } else if length <= Int(UInt16.max) {
        buffer.writeMultipleIntegers(frame.firstByte, mask | 126, UInt16(length))
    } else {
        buffer.writeMultipleIntegers(frame.firstByte, mask | 127, UInt64(length))
    }
    var data = frame.data
    if frame.masked {
        buffer.writeBytes([testMaskKey[0], testMaskKey[1], testMaskKey[2], testMaskKey[3]])
        data.webSocketMask(testMaskKey)
    }
    buffer.writeBuffer(&data)
    return buffer
}

/// A close frame's payload: the code, big-endian, then the reason bytes.
func closePayload(_ code: UInt16, _ reason: [UInt8] = []) -> [UInt8] {
    [UInt8(code >> 8), UInt8(code & 0xFF)] + reason
}

func bytes(_ buffer: ByteBuffer) -> [UInt8] {
    Array(buffer.readableBytesView)
}

/// A server frame as written to the wire, taken apart (unmasked, so no mask key).
struct ParsedFrame: Equatable {
    var fin: Bool
    var rsv1: Bool
    var opcode: UInt8
    var payload: [UInt8]

    init?(_ buffer: ByteBuffer) {
        let raw = bytes(buffer)
        guard raw.count >= 2, raw[1] & 0x80 == 0 else { return nil }
        fin = raw[0] & 0x80 != 0
        rsv1 = raw[0] & 0x40 != 0
        opcode = raw[0] & 0x0F
        var length = Int(raw[1] & 0x7F)
        var offset = 2
        if length == 126 {
            length = Int(raw[2]) << 8 | Int(raw[3])
            offset = 4
        } else if length == 127 {
            length = raw[2..<10].reduce(0) { $0 << 8 | Int($1) }
            offset = 10
        }
        guard raw.count == offset + length else { return nil }
        payload = Array(raw[offset...])
    }

    /// The status code of a close frame.
    var closeCode: UInt16? {
        guard opcode == 0x8, payload.count >= 2 else { return nil }
        return UInt16(payload[0]) << 8 | UInt16(payload[1])
    }

    var closeReason: String? {
        guard opcode == 0x8, payload.count >= 2 else { return nil }
        return String(validating: payload[2...], as: UTF8.self)
    }
}
