import HawkerProtocol

/// Why a room refused a command or an event: the wire error code, a message that says
/// what to do, and for rate limits when to retry.
public struct RoomError: Error, Sendable, Hashable {
    public var code: ErrorCode
    public var message: String
    public var retryAfterMilliseconds: Int64?

    public init(_ code: ErrorCode, _ message: String, retryAfterMilliseconds: Int64? = nil) {
        self.code = code
        self.message = message
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }
}
