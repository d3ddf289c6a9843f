/// Why a Redis command did not get its answer. Compared by `code`; `message` is for people.
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: Sendable, Hashable {
            case unavailable, connectionClosed, overloaded, protocolViolation, replyError, unexpectedReply, invalidURL
        }

        fileprivate let base: Base

        /// No connection to Redis right now: the command was not sent. Retryable.
        public static let unavailable = Code(base: .unavailable)
        /// The connection closed after the command was sent: it may or may not have run.
        public static let connectionClosed = Code(base: .connectionClosed)
        /// Too many commands waiting for their replies on the connection. Retryable.
        public static let overloaded = Code(base: .overloaded)
        /// Redis (or whatever answered) broke RESP, or passed a configured bound.
        public static let protocolViolation = Code(base: .protocolViolation)
        /// Redis answered with an error reply (`message` holds it: code first).
        public static let replyError = Code(base: .replyError)
        /// A reply of a shape the caller did not expect.
        public static let unexpectedReply = Code(base: .unexpectedReply)
        /// A `redis://` URL that cannot be used.
        public static let invalidURL = Code(base: .invalidURL)

        public var description: String { "\(base)" }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The error code of a reply error (`NOSCRIPT`, `ERR`, or a script's own), else nil.
    public var replyCode: String? {
        guard code == .replyError else { return nil }
        return message.split(separator: " ", maxSplits: 1).first.map(String.init)
    }

    /// Whether the same command may be sent again later with no harm done: it was not sent.
    public var isRetryable: Bool { code == .unavailable || code == .overloaded }

    public var description: String { "redis \(code): \(message)" }
}
