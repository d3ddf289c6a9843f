import NIOCore

/// One RESP3 value as Redis sends it. Bulk strings stay bytes (`ByteBuffer`): payloads are
/// binary and most are handed on without being read as text.
public enum RESPValue: Sendable, Equatable {
    /// A key of a map and its value.
    public struct Pair: Sendable, Equatable {
        public var key: RESPValue
        public var value: RESPValue

        public init(_ key: RESPValue, _ value: RESPValue) {
            self.key = key
            self.value = value
        }
    }

    case simpleString(String)
    /// An error reply (simple or bulk error): its code is the first word (`ERR`, `NOSCRIPT`...).
    case error(String)
    case integer(Int64)
    case bulkString(ByteBuffer)
    /// RESP3's null, and RESP2's null bulk string and null array.
    case null
    case boolean(Bool)
    case double(Double)
    /// A big number, as its decimal digits.
    case bigNumber(String)
    case array([RESPValue])
    case map([Pair])
    case set([RESPValue])
    /// Out of band: pub/sub messages and subscription confirmations.
    case push([RESPValue])

    /// The value as text: simple, bulk and verbatim strings, and numbers written out.
    public var string: String? {
        switch self {
        case .simpleString(let text), .bigNumber(let text): text
        case .bulkString(let bytes): String(buffer: bytes)
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// The value as an integer: integers, and strings holding one.
    public var int64: Int64? {
        switch self {
        case .integer(let value): value
        case .simpleString, .bulkString: string.flatMap { Int64($0) }
        default: nil
        }
    }

    /// The bytes of a string value.
    public var bytes: ByteBuffer? {
        switch self {
        case .bulkString(let bytes): bytes
        case .simpleString(let text): ByteBuffer(string: text)
        default: nil
        }
    }

    /// The elements of an array, set or push; nil for anything else (null included).
    public var elements: [RESPValue]? {
        switch self {
        case .array(let values), .set(let values), .push(let values): values
        default: nil
        }
    }

    /// The entries of a map, or of an array of alternating keys and values (RESP2's form).
    public var pairs: [Pair]? {
        switch self {
        case .map(let pairs): return pairs
        case .array(let values) where values.count % 2 == 0:
            return stride(from: 0, to: values.count, by: 2).map { Pair(values[$0], values[$0 + 1]) }
        default: return nil
        }
    }
}
