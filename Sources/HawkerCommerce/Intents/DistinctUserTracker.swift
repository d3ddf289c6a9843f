/// Distinct users over the short and long windows for one product.
///
/// Each tracked user contributes exactly 1 to the bucket of their last-seen time; a repeat visit
/// moves them to the new bucket. "Distinct users in window" is then a bucket sum: O(1) per
/// record and O(buckets) per read, instead of scanning up to `capacity` users on every read.
struct DistinctUserTracker: Sendable {
    private var lastSeen: [UInt64: Int64] = [:]
    private var short: SlidingWindowCounter
    private var long: SlidingWindowCounter
    private let capacity: Int
    /// Last time a user was refused because the tracker was full.
    private var lastRefusal: Int64?

    init(capacity: Int, short: SlidingWindowCounter, long: SlidingWindowCounter) {
        self.capacity = capacity
        self.short = short
        self.long = long
    }

    var trackedUsers: Int { lastSeen.count }
    var isEmpty: Bool { lastSeen.isEmpty }

    /// `now` must not go backwards; the aggregator guarantees that.
    mutating func record(user: UInt64, now: Int64) {
        if let previous = lastSeen[user] {
            short.remove(at: previous)
            long.remove(at: previous)
        } else if lastSeen.count >= capacity {
            // Saturated: the user goes uncounted, so counts are lower bounds until this expires.
            lastRefusal = now
            return
        }
        lastSeen[user] = now
        short.add(at: now)
        long.add(at: now)
    }

    func count(now: Int64) -> (short: Int, long: Int) {
        (short.count(now: now), long.count(now: now))
    }

    /// True while a refused user could still have been inside either window.
    func isLowerBound(now: Int64) -> Bool {
        guard let lastRefusal else { return false }
        return !long.hasExpired(lastRefusal, now: now) || !short.hasExpired(lastRefusal, now: now)
    }

    /// Forgets users that can no longer count in either window. Only those: dropping a user still
    /// held in a bucket would count them twice when they come back.
    mutating func prune(now: Int64) {
        // `filter` builds a right-sized table, so a burst's memory is released here.
        lastSeen = lastSeen.filter { !short.hasExpired($0.value, now: now) || !long.hasExpired($0.value, now: now) }
        if !isLowerBound(now: now) { lastRefusal = nil }
    }
}
