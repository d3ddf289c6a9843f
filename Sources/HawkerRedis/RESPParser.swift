import NIOCore

/// Reads RESP3 (and RESP2) values from bytes, within bounds: a reply larger, longer or
/// deeper than allowed is a protocol violation, never an allocation of whatever size the
/// peer wrote.
///
/// `parse` reads one whole value from the front of the buffer, or nothing: when the
/// buffer ends inside a value it returns nil and leaves the buffer as it was, to be
/// called again once more bytes arrived. Bulk strings are skipped by their length, so
/// reading a large reply again costs its headers, not its bytes.
public struct RESPParser: Sendable {
    public struct Limits: Sendable, Hashable {
        /// The largest bulk string (and verbatim string and bulk error).
        public var maxBulkBytes: Int
        /// The most elements in one array, set, push or map (a map counts its keys and values).
        public var maxElements: Int
        /// How deep aggregates may nest.
        public var maxDepth: Int
        /// The longest line: simple strings, errors, numbers.
        public var maxLineBytes: Int

        public init(maxBulkBytes: Int = 64 << 20, maxElements: Int = 1 << 20, maxDepth: Int = 16, maxLineBytes: Int = 64 << 10) {
            self.maxBulkBytes = maxBulkBytes
            self.maxElements = maxElements
            self.maxDepth = maxDepth
            self.maxLineBytes = maxLineBytes
        }
    }

    public var limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The next whole value, or nil when the buffer holds only part of one.
    public func parse(_ buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        var copy = buffer
        guard let value = try value(&copy, depth: 0) else { return nil }
        buffer = copy
        return value
    }

    private func value(_ buffer: inout ByteBuffer, depth: Int) throws(RedisError) -> RESPValue? {
        guard let marker = buffer.readInteger(as: UInt8.self) else { return nil }
        switch marker {
        case UInt8(ascii: "+"):
            return try line(&buffer).map { .simpleString($0) }
        case UInt8(ascii: "-"):
            return try line(&buffer).map { .error($0) }
        case UInt8(ascii: ":"):
            guard let text = try line(&buffer) else { return nil }
            guard let value = Int64(text) else { throw violation("integer '\(text.prefix(32))'") }
            return .integer(value)
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            guard let length = try length(&buffer) else { return nil }
            guard length >= 0 else { return .null }  // RESP2's null bulk string
            guard length <= limits.maxBulkBytes else { throw violation("a bulk string of \(length) bytes is over the limit of \(limits.maxBulkBytes)") }
            guard buffer.readableBytes >= length + 2 else { return nil }
            var bytes = buffer.readSlice(length: length)!
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw violation("a bulk string not ended by CRLF") }
            switch marker {
            case UInt8(ascii: "!"):
                return .error(String(buffer: bytes))
            case UInt8(ascii: "="):
                // Verbatim: a three-letter format and a colon, then the text.
                guard bytes.readableBytes >= 4 else { throw violation("a verbatim string without its format") }
                bytes.moveReaderIndex(forwardBy: 4)
                return .bulkString(bytes)
            default:
                return .bulkString(bytes)
            }
        case UInt8(ascii: "_"):
            guard let text = try line(&buffer) else { return nil }
            guard text.isEmpty else { throw violation("a null with content") }
            return .null
        case UInt8(ascii: "#"):
            guard let text = try line(&buffer) else { return nil }
            switch text {
            case "t": return .boolean(true)
            case "f": return .boolean(false)
            default: throw violation("boolean '\(text.prefix(8))'")
            }
        case UInt8(ascii: ","):
            guard let text = try line(&buffer) else { return nil }
            switch text {
            case "inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan": return .double(.nan)
            default:
                guard let value = Double(text) else { throw violation("double '\(text.prefix(32))'") }
                return .double(value)
            }
        case UInt8(ascii: "("):
            guard let text = try line(&buffer) else { return nil }
            guard !text.isEmpty, text.utf8.dropFirst(text.first == "-" ? 1 : 0).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text != "-" else {
                throw violation("big number '\(text.prefix(32))'")
            }
            return .bigNumber(text)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            guard let count = try length(&buffer) else { return nil }
            guard count >= 0 else { return .null }  // RESP2's null array
            guard let elements = try elements(&buffer, count: count, depth: depth) else { return nil }
            switch marker {
            case UInt8(ascii: "~"): return .set(elements)
            case UInt8(ascii: ">"): return .push(elements)
            default: return .array(elements)
            }
        case UInt8(ascii: "%"), UInt8(ascii: "|"):
            guard depth < limits.maxDepth else { throw violation("aggregates nested deeper than \(limits.maxDepth)") }
            guard let count = try length(&buffer) else { return nil }
            guard count >= 0, count <= limits.maxElements / 2 else { throw violation("a map of \(count) entries") }
            guard let elements = try elements(&buffer, count: count * 2, depth: depth) else { return nil }
            let pairs = stride(from: 0, to: elements.count, by: 2).map { RESPValue.Pair(elements[$0], elements[$0 + 1]) }
            // Attributes describe the value after them; nothing here reads them.
            // (Counted as a level: a chain of attributes is bounded like nesting.)
            return marker == UInt8(ascii: "|") ? try value(&buffer, depth: depth + 1) : .map(pairs)
        default:
            throw violation("unknown type byte 0x\(String(marker, radix: 16))")
        }
    }

    private func elements(_ buffer: inout ByteBuffer, count: Int, depth: Int) throws(RedisError) -> [RESPValue]? {
        guard count <= limits.maxElements else { throw violation("an aggregate of \(count) elements is over the limit of \(limits.maxElements)") }
        guard depth < limits.maxDepth else { throw violation("aggregates nested deeper than \(limits.maxDepth)") }
        // Every element takes at least three bytes: reserve no more than the buffer could hold.
        var elements: [RESPValue] = []
        elements.reserveCapacity(min(count, buffer.readableBytes / 3))
        for _ in 0..<count {
            guard let element = try value(&buffer, depth: depth + 1) else { return nil }
            elements.append(element)
        }
        return elements
    }

    /// A length or count line: -1 for RESP2's nulls, else 0 or more.
    private func length(_ buffer: inout ByteBuffer) throws(RedisError) -> Int? {
        guard let text = try line(&buffer) else { return nil }
        guard let value = Int(text), value >= -1, text.utf8.count <= 19 else { throw violation("length '\(text.prefix(32))'") }
        return value
    }

    /// The text up to the next CRLF, consumed with it.
    private func line(_ buffer: inout ByteBuffer) throws(RedisError) -> String? {
        let view = buffer.readableBytesView
        guard let cr = view.prefix(limits.maxLineBytes + 1).firstIndex(of: 0x0D) else {
            if view.count > limits.maxLineBytes { throw violation("a line longer than \(limits.maxLineBytes) bytes") }
            return nil
        }
        let length = cr - view.startIndex
        guard buffer.readableBytes >= length + 2 else { return nil }
        guard view[cr + 1] == 0x0A else { throw violation("CR without LF") }
        let text = buffer.readString(length: length)!
        buffer.moveReaderIndex(forwardBy: 2)
        return text
    }

    private func violation(_ what: String) -> RedisError {
        RedisError(.protocolViolation, what)
    }
}
