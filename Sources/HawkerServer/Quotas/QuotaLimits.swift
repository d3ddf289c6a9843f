/// Per-user quotas (a user is a token's `sub`), over every connection and event loop of
/// one gateway. The README and PROTOCOL.md list them with their defaults.
public struct QuotaLimits: Sendable {
    /// WebSocket connections open at once.
    public var connections = 32
    /// Stream subscriptions over all the user's connections.
    public var subscriptions = 256
    /// Streams a host has created that still exist (admins are exempt).
    public var streams = 100
    /// Chat messages and questions over all streams, sustained and at once.
    public var chatPerMinute = 120
    public var chatBurst = 10
    /// Checkouts over all streams, sustained and at once.
    public var checkoutsPerMinute = 30
    public var checkoutBurst = 10
    /// HTTP API requests with the user's tokens, sustained (fractions allowed) and at once.
    public var httpRequestsPerSecond: Double = 20
    public var httpRequestBurst = 40

    public init() {}
}
