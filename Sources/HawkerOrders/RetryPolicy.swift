/// When to try a failed delivery again, and when to give up on it.
public struct RetryPolicy: Sendable, Hashable {
    public var baseDelayMilliseconds: Int64
    public var maxDelayMilliseconds: Int64
    /// Attempts before a delivery is dead-lettered.
    public var maxAttempts: Int
    /// Age (since the checkout) after which a delivery is dead-lettered.
    public var maxAgeMilliseconds: Int64

    public init(baseDelayMilliseconds: Int64 = 500, maxDelayMilliseconds: Int64 = 300_000, maxAttempts: Int = 12, maxAgeMilliseconds: Int64 = 86_400_000) {
        self.baseDelayMilliseconds = baseDelayMilliseconds
        self.maxDelayMilliseconds = maxDelayMilliseconds
        self.maxAttempts = maxAttempts
        self.maxAgeMilliseconds = maxAgeMilliseconds
    }

    /// The delay before attempt `attempts + 1`: exponential, capped, with full jitter
    /// (`unit` in 0..<1), so that a recovering backend is not hit by every retry at once.
    public func delay(afterAttempts attempts: Int, unit: Double) -> Int64 {
        let exponent = min(max(0, attempts - 1), 30)
        let ceiling = min(maxDelayMilliseconds, baseDelayMilliseconds << exponent)
        return max(1, Int64(Double(ceiling) * min(max(unit, 0), 1)))
    }

    /// Whether a delivery that has failed `attempts` times, created at `createdAt`, is
    /// given up on at `now`.
    public func exhausted(attempts: Int, createdAt: Int64, now: Int64) -> Bool {
        attempts >= maxAttempts || now - createdAt >= maxAgeMilliseconds
    }
}
