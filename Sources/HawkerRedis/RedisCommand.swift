import NIOCore

/// One command, encoded once as RESP: an array of bulk strings.
public struct RedisCommand: Sendable, Equatable, CustomStringConvertible {
    /// One argument: text, bytes or a number, all sent as bulk strings.
    public enum Argument: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
        case string(String)
        case bytes(ByteBuffer)
        case integer(Int64)

        public init(stringLiteral value: String) { self = .string(value) }
        public init(integerLiteral value: Int64) { self = .integer(value) }
    }

    /// The command's name, for logs and errors.
    public let name: String
    /// The bytes that go on the wire.
    public let encoded: ByteBuffer

    public init(_ name: String, _ arguments: [Argument] = []) {
        self.name = name
        var buffer = ByteBuffer()
        buffer.writeString("*\(arguments.count + 1)\r\n")
        Self.write(.string(name), to: &buffer)
        for argument in arguments { Self.write(argument, to: &buffer) }
        encoded = buffer
    }

    private static func write(_ argument: Argument, to buffer: inout ByteBuffer) {
        switch argument {
        case .string(let text):
            buffer.writeString("$\(text.utf8.count)\r\n")
            buffer.writeString(text)
        case .bytes(let bytes):
            buffer.writeString("$\(bytes.readableBytes)\r\n")
            buffer.writeImmutableBuffer(bytes)
        case .integer(let value):
            let text = String(value)
            buffer.writeString("$\(text.utf8.count)\r\n")
            buffer.writeString(text)
        }
        buffer.writeStaticString("\r\n")
    }

    public var description: String { name }
}
