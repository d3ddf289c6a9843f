/// Counts events over a trailing time window using a fixed ring of buckets.
///
/// Cost: `add`/`remove` are O(1); `count` is O(bucketCount); memory is fixed at
/// `bucketCount` × 16 bytes regardless of the event rate.
///
/// Resolution trade-off: an event lands in the bucket containing its timestamp and a bucket
/// expires as a whole, so an event stays counted for between `window - bucketMillis` and
/// `window` milliseconds. Finer buckets cost memory and read time; coarser ones make counts
/// drop in visible steps. `IntentAggregator` uses 60 × 1 s for one minute and 60 × 5 s for
/// five minutes (at most 1.7 % early expiry, about 1 KB per counter).
///
/// Edges: bucket `k` covers `[k·b, (k+1)·b)`. At `now` the counter includes the buckets
/// `bucket(now) - bucketCount + 1 ... bucket(now)`. For a bucket-aligned timestamp `t` this is
/// exactly the half-open window `(now - window, now]`: the event is still counted at
/// `t + window - 1` and gone at `t + window`.
public struct SlidingWindowCounter: Sendable, Hashable {
    /// Width of one bucket in milliseconds.
    public let bucketMillis: Int64
    private var counts: [Int]
    /// Bucket index each slot currently holds; a slot whose stamp is out of range is stale.
    private var stamps: [Int64]

    /// - Parameters:
    ///   - window: span in milliseconds; must be a positive multiple of `bucketMillis`.
    ///   - bucketMillis: bucket width in milliseconds.
    public init(window: Int64, bucketMillis: Int64) {
        precondition(bucketMillis > 0, "bucketMillis must be positive")
        precondition(
            window >= bucketMillis && window % bucketMillis == 0,
            "window must be a positive multiple of bucketMillis")
        self.bucketMillis = bucketMillis
        let buckets = Int(window / bucketMillis)
        counts = Array(repeating: 0, count: buckets)
        stamps = Array(repeating: .min, count: buckets)
    }

    public var bucketCount: Int { counts.count }
    public var window: Int64 { bucketMillis * Int64(counts.count) }

    /// Adds `n` events at `time`. Events older than the ring's newest bucket minus the window
    /// are dropped, since their slot has already been reused.
    public mutating func add(_ n: Int = 1, at time: Int64) {
        let bucket = bucketIndex(of: time)
        let slot = slotIndex(of: bucket)
        if stamps[slot] == bucket {
            counts[slot] += n
        } else if stamps[slot] < bucket {
            stamps[slot] = bucket
            counts[slot] = n
        }
    }

    /// Takes back `n` events previously added at `time`, if their bucket is still held.
    /// Used to move a distinct user from their old last-seen bucket to the new one.
    public mutating func remove(_ n: Int = 1, at time: Int64) {
        let bucket = bucketIndex(of: time)
        let slot = slotIndex(of: bucket)
        guard stamps[slot] == bucket else { return }  // already rolled out of the ring
        counts[slot] = max(0, counts[slot] - n)
    }

    /// Events in the window ending at `now`. Buckets newer than `now` are ignored.
    public func count(now: Int64) -> Int {
        let newest = bucketIndex(of: now)
        let oldest = newest - Int64(counts.count) + 1
        var total = 0
        for slot in counts.indices where stamps[slot] >= oldest && stamps[slot] <= newest {
            total += counts[slot]
        }
        return total
    }

    /// Whether an event at `time` can no longer be counted at `now` or any later time.
    public func hasExpired(_ time: Int64, now: Int64) -> Bool {
        bucketIndex(of: time) <= bucketIndex(of: now) - Int64(counts.count)
    }

    private func bucketIndex(of time: Int64) -> Int64 {
        // Floor division, so times before the epoch still map to a consistent bucket.
        let quotient = time / bucketMillis
        return time % bucketMillis < 0 ? quotient - 1 : quotient
    }

    private func slotIndex(of bucket: Int64) -> Int {
        let size = Int64(counts.count)
        let remainder = bucket % size
        return Int(remainder < 0 ? remainder + size : remainder)
    }
}
