import HawkerProtocol

/// A `StateStore` whose writes are blocking calls (SQLite). `StateJournal` commits to it on
/// a serial queue of its own and calls `applyNow` there: one thread wake-up per commit
/// instead of a task on Swift's pool that hops to the store's queue and back.
///
/// `applyNow` makes the same promises as `apply` (whole or nothing, in order, durable when
/// it returns); `StateStoreConformanceTests` runs every test through both.
public protocol SynchronousStateStore: StateStore {
    /// `apply`, on the calling thread: blocks it until the batch is stored.
    @discardableResult
    func applyNow(_ changes: [StateChange]) throws -> Set<StreamID>
}
