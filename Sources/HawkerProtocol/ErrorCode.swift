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
    case unknownProduct = "unknown_product"
    case unknownVariant = "unknown_variant"
    case unknownSale = "unknown_sale"
    case unknownQuestion = "unknown_question"
    case unknownMessage = "unknown_message"
    case limitReached = "limit_reached"
    case invalidMessage = "invalid_message"
    case messageBlocked = "message_blocked"
    case banned = "banned"
    case timedOut = "timed_out"
    case rateLimited = "rate_limited"
    /// A per-user quota (connections, subscriptions, streams) is spent.
    case quotaExceeded = "quota_exceeded"
    // Checkout (PROTOCOL.md §6.15), in the order they are checked.
    case invalidCheckout = "invalid_checkout"
    case notBuyable = "not_buyable"
    case priceChanged = "price_changed"
    case regionNotServed = "region_not_served"
    case currencyMismatch = "currency_mismatch"
    case soldOut = "sold_out"
    case insufficientStock = "insufficient_stock"
    /// With shipping and tax the cart costs other than `totals_seen` (or its lines' sum).
    case totalChanged = "total_changed"
    /// The checkout could not be recorded durably: nothing was reserved; retry with the same key.
    case unavailable = "unavailable"
    // Referrals (PROTOCOL.md §6.17): the code of a link is not registered, or not active.
    case unknownCode = "unknown_code"
    case codeNotActive = "code_not_active"
    /// A kept ticket (`referral {ticket}`) past the referral window, or not one of ours.
    case referralExpired = "referral_expired"
    case invalidReferral = "invalid_referral"
    // Order services.
    case unknownDelivery = "unknown_delivery"
    case unknownCheckout = "unknown_checkout"
    /// A buyer's cancel or return request the order does not allow (not confirmed, shipped
    /// already, units taken back or asked for, a request id used for another request).
    case requestRefused = "request_refused"
    case internalError = "internal_error"
}
