import Testing

@testable import HawkerServer

#if canImport(Glibc)
import Glibc
#endif

/// The listener out of descriptors fails every 100 ms: one line when it starts, one every
/// interval with the count, one when it accepts again.
@Suite struct AcceptFailuresTests {
    static let second: UInt64 = 1_000_000_000

    @Test func aRunOfFailuresIsLoggedOnceThenEveryIntervalThenWhenItEnds() {
        var failures = AcceptFailures(interval: 10 * Self.second)
        #expect(failures.accepted(now: 0) == nil, "accepting as usual: nothing to say")
        #expect(failures.failed(errno: EMFILE, now: Self.second) == .started(errno: EMFILE))
        #expect(failures.isFailing)
        var lines: [AcceptFailures.Line] = []
        // Every 100 ms for 25 s.
        for tick in 1...250 {
            if let line = failures.failed(errno: EMFILE, now: Self.second + UInt64(tick) * Self.second / 10) { lines.append(line) }
        }
        #expect(lines == [.ongoing(errno: EMFILE, failures: 100), .ongoing(errno: EMFILE, failures: 100)])
        #expect(failures.accepted(now: 27 * Self.second) == .recovered(failures: 251, nanoseconds: 26 * Self.second))
        #expect(!failures.isFailing)
        #expect(failures.accepted(now: 28 * Self.second) == nil)
    }

    @Test func theNextRunStartsAfresh() {
        var failures = AcceptFailures(interval: 10 * Self.second)
        _ = failures.failed(errno: ENFILE, now: 0)
        _ = failures.failed(errno: ENFILE, now: Self.second)
        #expect(failures.accepted(now: 2 * Self.second) == .recovered(failures: 2, nanoseconds: 2 * Self.second))
        #expect(failures.failed(errno: ENOMEM, now: 3 * Self.second) == .started(errno: ENOMEM))
        #expect(failures.failed(errno: ENOMEM, now: 4 * Self.second) == nil, "within the interval of the run's first line")
        #expect(failures.accepted(now: 5 * Self.second) == .recovered(failures: 2, nanoseconds: 2 * Self.second))
    }
}
