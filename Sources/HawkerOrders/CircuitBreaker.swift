/// One backend's circuit: after `threshold` failures in a row it opens and the relay
/// stops calling that backend for `cooldown`; then one trial call decides whether it
/// closes again. Keeps a dead merchant system from eating the relay's time and from
/// being hammered while it recovers.
public struct CircuitBreaker: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        case closed(failures: Int)
        case open(until: Int64)
        /// One trial call is out.
        case halfOpen
    }

    public private(set) var state = State.closed(failures: 0)
    public let threshold: Int
    public let cooldownMilliseconds: Int64

    public init(threshold: Int = 5, cooldownMilliseconds: Int64 = 30_000) {
        self.threshold = max(1, threshold)
        self.cooldownMilliseconds = cooldownMilliseconds
    }

    /// Whether a call may go out at `now`; moves an open circuit whose cooldown passed to
    /// half-open (one trial).
    public mutating func allows(now: Int64) -> Bool {
        switch state {
        case .closed: return true
        case .halfOpen: return false
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen
            return true
        }
    }

    public mutating func succeeded() {
        state = .closed(failures: 0)
    }

    public mutating func failed(now: Int64) {
        switch state {
        case .closed(let failures) where failures + 1 < threshold:
            state = .closed(failures: failures + 1)
        case .closed, .halfOpen, .open:
            state = .open(until: now + cooldownMilliseconds)
        }
    }

    public var isOpen: Bool {
        if case .open = state { return true }
        return false
    }
}
