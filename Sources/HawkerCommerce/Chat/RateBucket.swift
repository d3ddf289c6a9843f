/// A token bucket on millisecond timestamps, kept per chat user.
struct RateBucket: Sendable, Hashable {
    private(set) var tokens: Double
    private var refilledAt: Int64

    init(burst: Int, now: Int64) {
        tokens = Double(burst)
        refilledAt = now
    }

    /// Takes one token; otherwise returns how long until one is there.
    mutating func take(ratePerSecond: Double, burst: Int, now: Int64) -> Int64? {
        tokens = min(Double(burst), tokens + Double(max(0, now - refilledAt)) * ratePerSecond / 1000)
        refilledAt = now
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return Int64(((1 - tokens) * 1000 / ratePerSecond).rounded(.up))
    }
}
