import HawkerCommerce
import HawkerHub
import HawkerProtocol
import HawkerState
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The hub in front of a store that fails: nothing submitted is skipped, nothing piles up.
@Suite struct StateJournalTests {
    /// A memory store that fails the way a full disk does (`failures` times), refuses the
    /// changes of `refusing` (as a damaged file would), or holds every apply until opened.
    final class FaultyStore: StateStore {
        let inner = MemoryStateStore()
        let failures = Mutex(0)
        let refusing = Mutex<Set<StreamID>>([])
        let gate = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((true, []))
        struct DiskFull: Error {}

        func load() async throws -> [StoredStream] { try await inner.load() }
        func loadInventory() async throws -> StoredInventory { try await inner.loadInventory() }
        func archived(_ stream: StreamID) async throws -> StoredStream? { try await inner.archived(stream) }
        func pruneArchive(before: Int64) async throws -> Int { try await inner.pruneArchive(before: before) }
        func close() async throws { try await inner.close() }

        func apply(_ changes: [StateChange]) async throws -> Set<StreamID> {
            await withCheckedContinuation { continuation in
                let open = gate.withLock { gate -> Bool in
                    if !gate.open { gate.waiters.append(continuation) }
                    return gate.open
                }
                if open { continuation.resume() }
            }
            let fail = failures.withLock { count -> Bool in
                guard count > 0 else { return false }
                count -= 1
                return true
            }
            if fail { throw DiskFull() }
            let refused = refusing.withLock { $0 }
            if changes.contains(where: { $0.stream.map(refused.contains) ?? false }) { throw StateStoreError(.conflict, "refused") }
            return try await inner.apply(changes)
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

    static func hub(_ store: FaultyStore, loops: Int = 1) -> (Hub, MultiThreadedEventLoopGroup) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
        return (Hub(loops: Array(group.makeIterator()), journal: StateJournal(store: store)), group)
    }

    @Test func aFailingStoreIsRetriedAndNothingIsSkipped() async throws {
        let store = FaultyStore()
        store.failures.withLock { $0 = 3 }
        let (hub, group) = Self.hub(store)
        let name = stream("flaky")
        var seqs: [UInt64] = []
        for index in 1...5 { seqs.append(try await hub.publish(announcement("e\(index)"), to: name).get().position.seq) }
        #expect(seqs == [1, 2, 3, 4, 5])
        let kept = try #require(try await store.inner.load().first)
        #expect(kept.events.map(\.seq) == [1, 2, 3, 4, 5], "every event is stored, in order, after the failures")
        try await group.shutdownGracefully()
    }

    @Test func aRefusedStreamHearsNotStoredAndIsWrittenWholeAgain() async throws {
        let store = FaultyStore()
        let (hub, group) = Self.hub(store)
        let bad = stream("bad")
        let good = stream("good")
        _ = try await hub.publish(announcement("first"), to: bad).get()
        store.refusing.withLock { $0 = [bad] }
        await #expect(throws: HubError.notStored) { try await hub.publish(announcement("refused"), to: bad).get() }
        // Another stream on the same loop is not held back by it.
        #expect(try await hub.publish(announcement("fine"), to: good).get().position.seq == 1)
        store.refusing.withLock { $0 = [] }
        await hub.saveAndFlush()
        let kept = try await store.inner.load()
        let rewritten = try #require(kept.first { $0.stream == bad })
        #expect(rewritten.seq == 2, "the stream is written whole again, with its room at seq 2")
        try await group.shutdownGracefully()
    }

    @Test func aStoreThatDoesNotAnswerMakesTheHubRefuseNewEventsInsteadOfPilingThemUp() async throws {
        let store = FaultyStore()
        let (hub, group) = Self.hub(store)
        let name = stream("stuck")
        _ = try await hub.publish(announcement("before"), to: name).get()
        store.close(gate: true)
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
        store.close(gate: false)
        for future in pending { _ = try await future.get() }
        #expect(try await hub.publish(announcement("after"), to: name).get().position.seq == UInt64(pending.count + 2))
        try await group.shutdownGracefully()
    }
}
