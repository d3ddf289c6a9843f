import NIOCore
import NIOEmbedded
import Testing

@testable import HawkerServer

/// The per-loop deadline heap, on an embedded loop whose clock the test moves.
@Suite struct SessionDeadlinesTests {
    final class Owner {
        let name: String
        init(_ name: String) { self.name = name }
    }

    final class Fired {
        var names: [String] = []
    }

    private func make(coalescing: TimeAmount = .milliseconds(10)) -> (EmbeddedEventLoop, SessionDeadlines<Owner>, Fired) {
        let loop = EmbeddedEventLoop()
        let fired = Fired()
        let deadlines = SessionDeadlines<Owner>(eventLoop: loop, coalescing: coalescing) { fired.names.append($0.name) }
        return (loop, deadlines, fired)
    }

    @Test func firesEachDeadlineOnceInOrderAndNotBefore() {
        let (loop, deadlines, fired) = make()
        let a = Owner("a")
        let b = Owner("b")
        let c = Owner("c")
        let start = loop.now
        _ = deadlines.schedule(c, at: start + .seconds(3))
        _ = deadlines.schedule(a, at: start + .seconds(1))
        _ = deadlines.schedule(b, at: start + .seconds(2))
        loop.advanceTime(by: .milliseconds(999))
        #expect(fired.names.isEmpty)
        // At most `coalescing` late.
        loop.advanceTime(by: .milliseconds(11))
        #expect(fired.names == ["a"])
        loop.advanceTime(by: .seconds(5))
        #expect(fired.names == ["a", "b", "c"])
        #expect(deadlines.count == 0)
        loop.advanceTime(by: .seconds(5))
        #expect(fired.names == ["a", "b", "c"])
    }

    @Test func cancelledDeadlinesDoNotFire() {
        let (loop, deadlines, fired) = make()
        let a = Owner("a")
        let b = Owner("b")
        let ticket = deadlines.schedule(a, at: loop.now + .seconds(1))
        _ = deadlines.schedule(b, at: loop.now + .seconds(1))
        deadlines.cancel(ticket)
        deadlines.cancel(ticket)
        #expect(deadlines.count == 1)
        loop.advanceTime(by: .seconds(2))
        #expect(fired.names == ["b"])
    }

    /// Deadlines microseconds apart (a connect storm) fire together, one wake-up per
    /// coalescing interval.
    @Test func deadlinesCloseTogetherFireTogether() {
        let (loop, deadlines, fired) = make(coalescing: .milliseconds(10))
        let start = loop.now
        for index in 0..<100 {
            _ = deadlines.schedule(Owner("\(index)"), at: start + .seconds(1) + .microseconds(Int64(index) * 50))
        }
        loop.advanceTime(by: .seconds(1))
        let firstWake = fired.names.count
        #expect(firstWake >= 1)
        loop.advanceTime(by: .milliseconds(10))
        #expect(fired.names.count == 100)
        #expect(fired.names == (0..<100).map { "\($0)" })
    }

    /// An earlier deadline than the armed timer's moves the timer forward.
    @Test func anEarlierDeadlineRearmsTheTimer() {
        let (loop, deadlines, fired) = make()
        _ = deadlines.schedule(Owner("late"), at: loop.now + .seconds(60))
        _ = deadlines.schedule(Owner("soon"), at: loop.now + .seconds(1))
        loop.advanceTime(by: .milliseconds(1_010))
        #expect(fired.names == ["soon"])
    }

    /// What fires may schedule and cancel deadlines.
    @Test func firingMayScheduleAgain() {
        let loop = EmbeddedEventLoop()
        let fired = Fired()
        var deadlines: SessionDeadlines<Owner>!
        deadlines = SessionDeadlines<Owner>(eventLoop: loop) { owner in
            fired.names.append(owner.name)
            if fired.names.count < 3 { _ = deadlines.schedule(owner, at: loop.now + .seconds(1)) }
        }
        _ = deadlines.schedule(Owner("again"), at: loop.now + .seconds(1))
        loop.advanceTime(by: .seconds(10))
        #expect(fired.names == ["again", "again", "again"])
    }

    /// Long-lived deadlines cancelled early (token expiries of sessions that closed) do
    /// not pile up: the heap is rebuilt from the live ones.
    @Test func cancelledEntriesDoNotAccumulate() {
        let (loop, deadlines, fired) = make()
        let keep = Owner("keep")
        _ = deadlines.schedule(keep, at: loop.now + .hours(2))
        for _ in 0..<50_000 {
            let ticket = deadlines.schedule(Owner("gone"), at: loop.now + .hours(1))
            deadlines.cancel(ticket)
        }
        #expect(deadlines.count == 1)
        #expect(deadlines.heldEntries <= 1_025)
        loop.advanceTime(by: .hours(3))
        #expect(fired.names == ["keep"])
    }
}
