/// The `code` of an `error` frame. Protocol/PROTOCOL.md documents each one.
public enum ErrorCode: String, Sendable, Codable, CaseIterable {
    case badRequest = "bad_request"
    case unknownCommand = "unknown_command"
    case notConnected = "not_connected"
    case alreadyConnected = "already_connected"
    case unauthorized = "unauthorized"
    case tokenExpired = "token_expired"
    case forbidden = "forbidden"
    case invalidStream = "invalid_stream"
    case streamNotFound = "stream_not_found"
    case alreadySubscribed = "already_subscribed"
    case notSubscribed = "not_subscribed"
    case tooManySubscriptions = "too_many_subscriptions"
    case unknownEventKind = "unknown_event_kind"
    case invalidEvent = "invalid_event"
    case rateLimited = "rate_limited"
    case internalError = "internal_error"
}
