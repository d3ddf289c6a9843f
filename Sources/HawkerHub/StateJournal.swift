import HawkerProtocol
import HawkerState
import Synchronization

/// Group commit in front of a `StateStore`: the shards hand in the changes of one loop
/// turn, and whatever arrives while a commit is running goes into the next one, so a
/// burst of events costs few commits. Completions run in the order of submission.
///
/// A commit that fails for a reason that may pass (I/O, a full disk, a busy file) is
/// tried again, with backoff, until it succeeds: nothing submitted is skipped, and the
/// shards stop taking new events while too much waits (`HubShard`). A change the store
/// refuses (a conflict, an unknown stream) fails only its own stream's changes in that
/// submission; the completion names those streams.
///
/// A store that writes by blocking (`SynchronousStateStore`: SQLite) is written on the
/// journal's own serial queue, where the drain runs: a commit then costs one wake-up of
/// that queue's thread and the hop back to the loops, not a task on Swift's pool that
/// waits for the store's queue.
public final class StateJournal: Sendable {
    private struct Submission: Sendable {
        var ticket: UInt64
        var changes: [StateChange]
        var completion: @Sendable (_ unstored: Set<StreamID>) -> Void
    }

    private struct Queue: Sendable {
        var waiting: [Submission] = []
        var draining = false
        var submitted: UInt64 = 0
        var applied: UInt64 = 0
        /// `flush()` callers, by the ticket they wait for.
        var flushes: [(ticket: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    }

    public let store: any StateStore
    /// The store's blocking writes, and the queue they run on.
    private let synchronous: (store: any SynchronousStateStore, executor: SerialQueueExecutor)?
    private let queue = Mutex(Queue())
    private let counters = Mutex((commits: 0, submissions: 0, retries: 0, refused: 0))
    /// Told about every failed attempt (to log it); the journal goes on.
    private let onError: @Sendable (any Error) -> Void

    public init(store: any StateStore, onError: @escaping @Sendable (any Error) -> Void = { _ in }) {
        self.store = store
        self.onError = onError
        synchronous = (store as? any SynchronousStateStore).map { ($0, SerialQueueExecutor(label: "hawker.state-journal")) }
    }

    /// Applies `changes` in a coming commit; `completion` runs once they are stored, with
    /// the streams whose changes the store refused (empty when all were stored), on the
    /// journal's task: hop to your loop from there.
    public func submit(_ changes: [StateChange], completion: @escaping @Sendable (_ unstored: Set<StreamID>) -> Void) {
        let start = queue.withLock { queue -> Bool in
            queue.submitted += 1
            queue.waiting.append(Submission(ticket: queue.submitted, changes: changes, completion: completion))
            guard !queue.draining else { return false }
            queue.draining = true
            return true
        }
        if start { Task(executorPreference: synchronous?.executor) { await self.drain() } }
    }

    /// Returns once everything submitted before the call is applied (or refused).
    public func flush() async {
        await withCheckedContinuation { continuation in
            let done = queue.withLock { queue -> Bool in
                guard queue.applied < queue.submitted else { return true }
                queue.flushes.append((queue.submitted, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    public var statistics: (commits: Int, submissions: Int, retries: Int, refused: Int) { counters.withLock { $0 } }

    /// Whether the caller runs on the queue this journal writes a blocking store on (for
    /// tests: a blocking write must run nowhere else).
    package var isOnWriteQueue: Bool { synchronous?.executor.isCurrent ?? false }

    private func drain() async {
        while true {
            let batch = queue.withLock { queue -> [Submission] in
                defer { queue.waiting.removeAll(keepingCapacity: true) }
                if queue.waiting.isEmpty { queue.draining = false }
                return queue.waiting
            }
            guard let last = batch.last else { return }
            await commit(batch)
            let resumed = queue.withLock { queue -> [CheckedContinuation<Void, Never>] in
                queue.applied = last.ticket
                let ready = queue.flushes.filter { $0.ticket <= last.ticket }.map(\.continuation)
                queue.flushes.removeAll { $0.ticket <= last.ticket }
                return ready
            }
            for continuation in resumed { continuation.resume() }
        }
    }

    /// One commit for the whole batch, tried until it is stored. When the store refuses a
    /// change, each submission goes alone, and within a refused one each stream alone.
    private func commit(_ batch: [Submission]) async {
        var attempt = 0
        while true {
            do {
                let dropped = try await apply(batch.count == 1 ? batch[0].changes : batch.flatMap(\.changes))
                counters.withLock {
                    $0.commits += 1
                    $0.submissions += batch.count
                }
                for submission in batch {
                    // Streams the store did not keep (a cluster node's, after its lease went).
                    submission.completion(dropped.isEmpty ? [] : dropped.intersection(submission.changes.compactMap(\.stream)))
                }
                return
            } catch let error as StateStoreError where error.kind != .closed {
                onError(error)
                if batch.count > 1 {
                    for submission in batch { await commit([submission]) }
                } else {
                    batch[0].completion(await applyPerStream(batch[0].changes))
                }
                return
            } catch let error as StateStoreError {
                // Closed: nothing more will be stored.
                onError(error)
                for submission in batch { submission.completion(Set(submission.changes.compactMap(\.stream))) }
                return
            } catch {
                // Maybe passing (I/O, a full disk): again, after a while, in order.
                await backOff(after: error, attempt: &attempt)
            }
        }
    }

    /// Each stream's changes in a transaction of their own (the inventory's together);
    /// returns the streams refused.
    private func applyPerStream(_ changes: [StateChange]) async -> Set<StreamID> {
        var order: [StreamID?] = []
        var perStream: [StreamID?: [StateChange]] = [:]
        for change in changes {
            if perStream[change.stream] == nil { order.append(change.stream) }
            perStream[change.stream, default: []].append(change)
        }
        var refused: Set<StreamID> = []
        for stream in order {
            var attempt = 0
            while true {
                do {
                    let dropped = try await apply(perStream[stream] ?? [])
                    if let stream, !dropped.isEmpty { refused.insert(stream) }
                    break
                } catch let error as StateStoreError {
                    onError(error)
                    if let stream { refused.insert(stream) }
                    counters.withLock { $0.refused += 1 }
                    break
                } catch {
                    await backOff(after: error, attempt: &attempt)
                }
            }
        }
        return refused
    }

    /// Through the store's blocking write when it has one: the drain runs on the journal's
    /// own queue then, which may block.
    private func apply(_ changes: [StateChange]) async throws -> Set<StreamID> {
        if let synchronous { return try synchronous.store.applyNow(changes) }
        return try await store.apply(changes)
    }

    /// Before trying a failed commit again: 10 ms, doubling, at most a second.
    private func backOff(after error: any Error, attempt: inout Int) async {
        onError(error)
        attempt += 1
        counters.withLock { $0.retries += 1 }
        try? await Task.sleep(for: .milliseconds(min(1_000, 10 << min(attempt, 7))))
    }
}
