/// Close codes the gateway sends, with whether a client should reconnect.
///
/// Application codes are split in two ranges: 4000–4499 mean "reconnect with backoff
/// and resume", 4500–4999 mean "do not reconnect automatically".
public struct CloseCode: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public let name: String

    public init(_ rawValue: UInt16, _ name: String) {
        self.rawValue = rawValue
        self.name = name
    }

    public static let normal = CloseCode(1000, "normal")
    public static let goingAway = CloseCode(1001, "going_away")
    public static let protocolError = CloseCode(1002, "protocol_error")
    public static let unsupportedData = CloseCode(1003, "unsupported_data")
    public static let invalidPayload = CloseCode(1007, "invalid_payload")
    public static let policyViolation = CloseCode(1008, "policy_violation")
    public static let messageTooBig = CloseCode(1009, "message_too_big")
    public static let internalError = CloseCode(1011, "internal_error")

    public static let connectTimeout = CloseCode(4000, "connect_timeout")
    public static let slowConsumer = CloseCode(4001, "slow_consumer")
    public static let flood = CloseCode(4002, "flood")
    public static let idleTimeout = CloseCode(4003, "idle_timeout")
    public static let unauthorized = CloseCode(4500, "unauthorized")
    public static let tokenExpired = CloseCode(4501, "token_expired")
    public static let tooManyErrors = CloseCode(4502, "too_many_errors")
    public static let quotaExceeded = CloseCode(4503, "quota_exceeded")

    /// Whether a client should reconnect (with backoff) after this close.
    public var shouldReconnect: Bool {
        switch rawValue {
        case 1001, 1011, 1012, 1013, 1014: return true
        case 4000..<4500: return true
        default: return false
        }
    }

    public var description: String { "\(rawValue) \(name)" }
}
