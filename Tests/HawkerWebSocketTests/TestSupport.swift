import HawkerWebSocket
import NIOCore
import NIOWebSocket

let testMaskKey: WebSocketMaskingKey = [0x37, 0xFA, 0x21, 0x3D]

/// A frame as a client sends it: masked, with `data` already masked with the key (the
/// assembler reads `unmaskedData`). `masked: false` makes an (invalid) unmasked frame.
func clientFrame(
    _ opcode: WebSocketOpcode,
    _ bytes: [UInt8],
    fin: Bool = true,
    rsv1: Bool = false,
    rsv2: Bool = false,
    rsv3: Bool = false,
    masked: Bool = true
) -> WebSocketFrame {
    var data = ByteBuffer(bytes: bytes)
    if masked { data.webSocketMask(testMaskKey) }
    return WebSocketFrame(fin: fin, rsv1: rsv1, rsv2: rsv2, rsv3: rsv3, opcode: opcode, maskKey: masked ? testMaskKey : nil, data: data)
}

func clientFrame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
    clientFrame(opcode, Array(text.utf8), fin: fin, rsv1: rsv1)
}

/// `frame` as a client puts it on the wire: header, masking key, then its data (already
/// masked, as `clientFrame` makes it).
func wire(_ frame: WebSocketFrame) -> ByteBuffer {
    var buffer = ByteBuffer()
    var first = UInt8(webSocketOpcode: frame.opcode)
    if frame.fin { first |= 0x80 }
    if frame.rsv1 { first |= 0x40 }
    if frame.rsv2 { first |= 0x20 }
    if frame.rsv3 { first |= 0x10 }
    let mask: UInt8 = frame.maskKey == nil ? 0 : 0x80
    let length = frame.data.readableBytes
    if length < 126 {
        buffer.writeMultipleIntegers(first, mask | UInt8(length))
    } else if length <= Int(UInt16.max) {
        buffer.writeMultipleIntegers(first, mask | 126, UInt16(length))
    } else {
        buffer.writeMultipleIntegers(first, mask | 127, UInt64(length))
    }
    if let key = frame.maskKey { buffer.writeBytes([key[0], key[1], key[2], key[3]]) }
    buffer.writeImmutableBuffer(frame.data)
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
