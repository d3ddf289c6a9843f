import HawkerCommerce
import Testing

@Suite("SlidingWindowCounter")
struct SlidingWindowCounterTests {
    /// Bucket-aligned (a multiple of 5 s) so edge tests are exact.
    let t0: Int64 = 1_700_000_000_000

    @Test func countsEventsInsideTheWindow() {
        var counter = SlidingWindowCounter(window: 60_000, bucketMillis: 1_000)
        counter.add(at: t0)
        counter.add(2, at: t0 + 30_000)
        #expect(counter.count(now: t0 + 30_000) == 3)
        #expect(counter.count(now: t0 + 59_999) == 3)
        #expect(counter.count(now: t0 + 60_000) == 2)
        #expect(counter.count(now: t0 + 90_000) == 0)
        #expect(counter.bucketCount == 60)
        #expect(counter.window == 60_000)
    }

    @Test func alignedEventIsCountedUpToButNotAtTheWindowEdge() {
        var counter = SlidingWindowCounter(window: 300_000, bucketMillis: 5_000)
        counter.add(at: t0)
        #expect(counter.count(now: t0 + 299_999) == 1)
        #expect(counter.count(now: t0 + 300_000) == 0)
        #expect(!counter.hasExpired(t0, now: t0 + 299_999))
        #expect(counter.hasExpired(t0, now: t0 + 300_000))
    }

    @Test func unalignedEventExpiresWithItsBucketAtMostOneBucketEarly() {
        var counter = SlidingWindowCounter(window: 300_000, bucketMillis: 5_000)
        counter.add(at: t0 + 4_999)
        #expect(counter.count(now: t0 + 299_999) == 1)
        #expect(counter.count(now: t0 + 300_000) == 0)  // 295 001 ms after the event
    }

    @Test func ringWrapsAroundWithFixedMemory() {
        var counter = SlidingWindowCounter(window: 60_000, bucketMillis: 1_000)
        for second in 0..<600 { counter.add(at: t0 + Int64(second) * 1_000) }
        #expect(counter.count(now: t0 + 599_000) == 60)
        #expect(counter.bucketCount == 60)
    }

    @Test func eventOlderThanTheRingIsDropped() {
        var counter = SlidingWindowCounter(window: 60_000, bucketMillis: 1_000)
        counter.add(at: t0 + 100_000)
        counter.add(at: t0 + 40_000)  // shares a slot with the newer bucket
        #expect(counter.count(now: t0 + 100_000) == 1)
        #expect(counter.count(now: t0 + 40_000) == 0)  // future buckets are not counted
    }

    @Test func removeOnlyAffectsABucketStillHeld() {
        var counter = SlidingWindowCounter(window: 60_000, bucketMillis: 1_000)
        counter.add(2, at: t0)
        counter.remove(at: t0 + 500)
        #expect(counter.count(now: t0) == 1)
        counter.add(at: t0 + 60_000)  // reuses the slot
        counter.remove(at: t0)  // stale: must not touch the new bucket
        #expect(counter.count(now: t0 + 60_000) == 1)
    }
}
