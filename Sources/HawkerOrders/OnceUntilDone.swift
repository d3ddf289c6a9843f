import NIOConcurrencyHelpers

/// Work that must have run once before anything else (a schema migration): the first
/// caller starts it, the others wait for the same run; a failed run is started again by
/// the next caller.
final class OnceUntilDone: Sendable {
    private let work: @Sendable () async throws -> Void
    private let running = NIOLockedValueBox<Task<Void, any Error>?>(nil)

    init(_ work: @escaping @Sendable () async throws -> Void) {
        self.work = work
    }

    func done() async throws {
        let task = running.withLockedValue { task in
            if let task { return task }
            let work = self.work
            let started = Task { try await work() }
            task = started
            return started
        }
        do {
            try await task.value
        } catch {
            // Only this run is forgotten: a newer one started meanwhile stays.
            running.withLockedValue { if $0 == task { $0 = nil } }
            throw error
        }
    }
}
