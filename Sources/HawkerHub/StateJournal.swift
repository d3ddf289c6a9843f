import HawkerState
import Synchronization

/// Group commit in front of a `StateStore`: the shards hand in the changes of one loop
/// turn, and whatever arrives while a commit is running goes into the next one, so a
/// burst of events costs few commits. Completions run in the order of submission.
public final class StateJournal: Sendable {
    private struct Submission: Sendable {
        var changes: [StateChange]
        var completion: @Sendable (Result<Void, any Error>) -> Void
    }

    private struct Queue: Sendable {
        var waiting: [Submission] = []
        var draining = false
        /// Continuations of `flush()` callers, resumed when the queue runs dry.
        var flushes: [CheckedContinuation<Void, Never>] = []
    }

    public let store: any StateStore
    private let queue = Mutex(Queue())
    /// Commits made and submissions in them, for metrics and tests of group commit.
    private let counters = Mutex((commits: 0, submissions: 0, failures: 0))

    public init(store: any StateStore) {
        self.store = store
    }

    /// Applies `changes` in a coming commit; `completion` runs once it is durable (or
    /// failed), on the journal's task: hop to your loop from there.
    public func submit(_ changes: [StateChange], completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        let start = queue.withLock { queue -> Bool in
            queue.waiting.append(Submission(changes: changes, completion: completion))
            guard !queue.draining else { return false }
            queue.draining = true
            return true
        }
        if start { Task { await drain() } }
    }

    /// Returns once everything submitted before the call is applied.
    public func flush() async {
        await withCheckedContinuation { continuation in
            let idle = queue.withLock { queue -> Bool in
                guard queue.draining || !queue.waiting.isEmpty else { return true }
                queue.flushes.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    public var statistics: (commits: Int, submissions: Int, failures: Int) { counters.withLock { $0 } }

    private func drain() async {
        while true {
            let batch = queue.withLock { queue -> [Submission] in
                defer { queue.waiting.removeAll(keepingCapacity: true) }
                return queue.waiting
            }
            if batch.isEmpty {
                let flushes = queue.withLock { queue -> [CheckedContinuation<Void, Never>]? in
                    // Something may have arrived since the batch was taken.
                    guard queue.waiting.isEmpty else { return nil }
                    queue.draining = false
                    defer { queue.flushes.removeAll() }
                    return queue.flushes
                }
                guard let flushes else { continue }
                for flush in flushes { flush.resume() }
                return
            }
            await commit(batch)
        }
    }

    /// One commit for the whole batch; when it fails, each submission alone, so that one
    /// bad change fails only its own submission.
    private func commit(_ batch: [Submission]) async {
        do {
            try await store.apply(batch.count == 1 ? batch[0].changes : batch.flatMap(\.changes))
            counters.withLock {
                $0.commits += 1
                $0.submissions += batch.count
            }
            for submission in batch { submission.completion(.success(())) }
        } catch {
            guard batch.count > 1 else {
                counters.withLock { $0.failures += 1 }
                batch[0].completion(.failure(error))
                return
            }
            for submission in batch { await commit([submission]) }
        }
    }
}
