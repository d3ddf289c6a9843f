import HawkerCommerce
import HawkerHub
import HawkerProtocol
import HawkerState
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The hub in front of a store that fails: nothing submitted is skipped, nothing piles up.
/// Each case runs against a store written through `apply` (a task per commit, as Redis
/// is) and one written through `applyNow` (on the journal's own queue, as SQLite is).
@Suite struct StateJournalTests {
    /// What a faulty store does: fail the way a full disk does (`failures` times), refuse
    /// the changes of `refusing` (as a damaged file would), or hold every write until the
    /// gate opens. Kept in memory.
    final class Faults: Sendable {
        let inner = MemoryStateStore()
        let failures = Mutex(0)
        let refusing = Mutex<Set<StreamID>>([])
        /// Writes that went through `apply` and through `applyNow`, and `applyNow`'s
        /// writes made elsewhere than on the journal's queue.
        let writes = Mutex((apply: 0, applyNow: 0, applyNowOffQueue: 0))
        struct DiskFull: Error {}

        func write(_ changes: [StateChange]) throws -> Set<StreamID> {
            let fail = failures.withLock { count -> Bool in
                guard count > 0 else { return false }
                count -= 1
                return true
            }
            if fail { throw DiskFull() }
            let refused = refusing.withLock { $0 }
            if changes.contains(where: { $0.stream.map(refused.contains) ?? false }) { throw StateStoreError(.conflict, "refused") }
            return try inner.applyNow(changes)
        }
    }

    /// The faults behind `apply`; a closed gate holds it without blocking a thread.
    final class FaultyStore: ReadingThrough {
        let faults = Faults()
        let gate = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((true, []))

        var reads: MemoryStateStore { faults.inner }

        func apply(_ changes: [StateChange]) async throws -> Set<StreamID> {
            await withCheckedContinuation { continuation in
                let open = gate.withLock { gate -> Bool in
                    if !gate.open { gate.waiters.append(continuation) }
                    return gate.open
                }
                if open { continuation.resume() }
            }
            faults.writes.withLock { $0.apply += 1 }
            return try faults.write(changes)
        }

        func close(gate closed: Bool) {
            let waiters = gate.withLock { gate -> [CheckedContinuation<Void, Never>] in
                gate.open = !closed
                defer { if !closed { gate.waiters = [] } }
                return closed ? [] : gate.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// The faults behind `applyNow`; a closed gate blocks the calling thread (the
    /// journal's queue), as a stuck disk would.
    final class FaultySynchronousStore: ReadingThrough, SynchronousStateStore {
        let faults = Faults()
        let gate = ConditionLock(value: 1)
        /// The journal writing it, to tell its queue.
        let journal = Mutex<StateJournal?>(nil)

        var reads: MemoryStateStore { faults.inner }

        func apply(_ changes: [StateChange]) async throws -> Set<StreamID> {
            faults.writes.withLock { $0.apply += 1 }
            return try faults.write(changes)
        }

        func applyNow(_ changes: [StateChange]) throws -> Set<StreamID> {
            gate.lock(whenValue: 1)
            gate.unlock()
            // Blocking is only allowed there: never on Swift's pool or an event loop.
            let onJournalQueue = journal.withLock { $0?.isOnWriteQueue ?? false }
            faults.writes.withLock {
                $0.applyNow += 1
                if !onJournalQueue { $0.applyNowOffQueue += 1 }
            }
            return try faults.write(changes)
        }

        func close(gate closed: Bool) {
            gate.lock()
            gate.unlock(withValue: closed ? 0 : 1)
        }
    }

    enum Writes: String, CaseIterable, CustomTestStringConvertible {
        case apply
        case applyNow

        var testDescription: String { rawValue }
    }

    /// A store of either kind, its faults, and how to hold or release its writes.
    struct Subject {
        let store: any StateStore
        let faults: Faults
        let close: @Sendable (_ gate: Bool) -> Void

        init(_ writes: Writes) {
            switch writes {
            case .apply:
                let store = FaultyStore()
                (self.store, faults) = (store, store.faults)
                close = { @Sendable closed in store.close(gate: closed) }
            case .applyNow:
                let store = FaultySynchronousStore()
                (self.store, faults) = (store, store.faults)
                close = { @Sendable closed in store.close(gate: closed) }
            }
        }

        /// Every write went the way the journal sends this kind of store.
        func expectWritesWent(_ writes: Writes, sourceLocation: SourceLocation = #_sourceLocation) {
            let counted = faults.writes.withLock { $0 }
            switch writes {
            case .apply: #expect(counted.apply > 0 && counted.applyNow == 0, sourceLocation: sourceLocation)
            case .applyNow:
                #expect(counted.applyNow > 0 && counted.apply == 0, sourceLocation: sourceLocation)
                #expect(counted.applyNowOffQueue == 0, "every blocking write ran on the journal's queue, after retries too", sourceLocation: sourceLocation)
            }
        }
    }

    static func hub(_ store: any StateStore, loops: Int = 1) -> (Hub, MultiThreadedEventLoopGroup) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
        let journal = StateJournal(store: store)
        (store as? FaultySynchronousStore)?.journal.withLock { $0 = journal }
        return (Hub(loops: Array(group.makeIterator()), journal: journal), group)
    }

    @Test(arguments: Writes.allCases)
    func aFailingStoreIsRetriedAndNothingIsSkipped(writes: Writes) async throws {
        let subject = Subject(writes)
        subject.faults.failures.withLock { $0 = 3 }
        let (hub, group) = Self.hub(subject.store)
        let name = stream("flaky")
        var seqs: [UInt64] = []
        for index in 1...5 { seqs.append(try await hub.publish(announcement("e\(index)"), to: name).get().position.seq) }
        #expect(seqs == [1, 2, 3, 4, 5])
        let kept = try #require(try await subject.faults.inner.load().first)
        #expect(kept.events.map(\.seq) == [1, 2, 3, 4, 5], "every event is stored, in order, after the failures")
        subject.expectWritesWent(writes)
        try await group.shutdownGracefully()
    }

    @Test(arguments: Writes.allCases)
    func aRefusedStreamHearsNotStoredAndIsWrittenWholeAgain(writes: Writes) async throws {
        let subject = Subject(writes)
        let (hub, group) = Self.hub(subject.store)
        let bad = stream("bad")
        let good = stream("good")
        _ = try await hub.publish(announcement("first"), to: bad).get()
        subject.faults.refusing.withLock { $0 = [bad] }
        await #expect(throws: HubError.notStored) { try await hub.publish(announcement("refused"), to: bad).get() }
        // Another stream on the same loop is not held back by it.
        #expect(try await hub.publish(announcement("fine"), to: good).get().position.seq == 1)
        subject.faults.refusing.withLock { $0 = [] }
        await hub.saveAndFlush()
        let kept = try await subject.faults.inner.load()
        let rewritten = try #require(kept.first { $0.stream == bad })
        #expect(rewritten.seq == 2, "the stream is written whole again, with its room at seq 2")
        subject.expectWritesWent(writes)
        try await group.shutdownGracefully()
    }

    @Test(arguments: Writes.allCases)
    func aStoreThatDoesNotAnswerMakesTheHubRefuseNewEventsInsteadOfPilingThemUp(writes: Writes) async throws {
        let subject = Subject(writes)
        let (hub, group) = Self.hub(subject.store)
        let name = stream("stuck")
        _ = try await hub.publish(announcement("before"), to: name).get()
        subject.close(true)
        // One batch per loop turn: a round trip through the loop after each publish makes
        // each its own turn, and lets a refusal (which is immediate) be seen at once.
        var pending: [EventLoopFuture<PublishReceipt>] = []
        var refusal: (any Error)?
        for index in 0..<2_000 {
            let future = hub.publish(announcement("e\(index)"), to: name)
            let failed = Mutex<(any Error)?>(nil)
            future.whenFailure { error in failed.withLock { $0 = error } }
            try await group.next().submit {}.get()
            if let error = failed.withLock({ $0 }) {
                refusal = error
                break
            }
            pending.append(future)
        }
        #expect(refusal as? HubError == .storeBehind, "the hub refused new events once 1,024 batches waited")
        // The room saves every second are batches too: a few less than 1,024 publishes.
        #expect(pending.count > 1_000 && pending.count <= 1_024)
        subject.close(false)
        for future in pending { _ = try await future.get() }
        #expect(try await hub.publish(announcement("after"), to: name).get().position.seq == UInt64(pending.count + 2))
        subject.expectWritesWent(writes)
        try await group.shutdownGracefully()
    }
}
