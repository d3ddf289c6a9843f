import NIOCore

extension JSONValue {
    /// Writes compact JSON straight into `buffer`. Foundation's JSONEncoder costs several
    /// microseconds per small object; replies and pushes are written on every message.
    /// Strings are escaped as RFC 8259 requires (quote, backslash, controls); everything
    /// else stays UTF-8, and "/" is not escaped.
    public func write(into buffer: inout ByteBuffer) {
        switch self {
        case .null: buffer.writeStaticString("null")
        case .bool(let value): buffer.writeStaticString(value ? "true" : "false")
        case .int(let value): buffer.writeString(String(value))
        case .double(let value):
            // JSON has no infinities or NaN; our values come from JSON, so they never hold one.
            buffer.writeString(value.isFinite ? "\(value)" : "null")
        case .string(let value): Self.writeString(value, into: &buffer)
        case .array(let values):
            buffer.writeInteger(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                value.write(into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        case .object(let members):
            buffer.writeInteger(UInt8(ascii: "{"))
            Self.writeMembers(members, into: &buffer)
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    /// `"key":value,...` without braces, for objects spliced into a larger one.
    static func writeMembers(_ members: [String: JSONValue], into buffer: inout ByteBuffer) {
        var first = true
        for (key, value) in members {
            if !first { buffer.writeInteger(UInt8(ascii: ",")) }
            first = false
            writeString(key, into: &buffer)
            buffer.writeInteger(UInt8(ascii: ":"))
            value.write(into: &buffer)
        }
    }

    static func writeString(_ string: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        let utf8 = string.utf8
        // Most strings need no escaping: copy them in one go.
        if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            buffer.writeString(string)
        } else {
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                case 0x00..<0x20:
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(hexDigit(byte >> 4))
                    buffer.writeInteger(hexDigit(byte & 0x0F))
                default: buffer.writeInteger(byte)
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
