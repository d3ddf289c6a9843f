import NIOCore

/// A token bucket: `rate` tokens per second up to `burst`. The caller passes the time in,
/// so tests drive it without a clock. Used for every per-connection rate (commands,
/// control frames, HTTP requests).
public struct TokenBucket: Sendable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var updated: NIODeadline?

    public init(ratePerSecond: Int, burst: Int) {
        self.init(ratePerSecond: Double(max(1, ratePerSecond)), burst: burst)
    }

    /// A fractional rate: 0.5 is one token every two seconds.
    public init(ratePerSecond: Double, burst: Int) {
        self.rate = max(ratePerSecond, 1e-6)
        self.burst = Double(max(1, burst))
        self.tokens = self.burst
    }

    /// Takes a token if there is one.
    public mutating func take(now: NIODeadline) -> Bool {
        refill(now: now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Milliseconds until the next token.
    public func retryAfterMilliseconds() -> Int64 {
        Int64(((1 - min(tokens, 1)) / rate * 1000).rounded(.up))
    }

    private mutating func refill(now: NIODeadline) {
        if let updated {
            let elapsed = Double((now - updated).nanoseconds) / 1e9
            tokens = min(burst, tokens + max(0, elapsed) * rate)
        }
        updated = now
    }
}
