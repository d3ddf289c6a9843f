import HawkerProtocol

/// Where streams are kept so that they outlive the process: each stream's identity and
/// epoch, the recent events used for resume, and a saved copy of its room (catalog,
/// pins, prices, sales, questions, moderation, insights).
///
/// The hub writes through a `StateJournal`, which groups the changes of many events into
/// one `apply`; the store applies a batch atomically and in order. Every implementation
/// passes `StateStoreConformanceTests`. The promises:
///
/// - `apply` returns once the batch is as durable as the store promises (SQLite: it
///   survives a `kill -9`), and a batch is applied whole or not at all;
/// - `load` returns every stream that was created and not removed, with its events in
///   order of `seq` and its last saved room;
/// - changes to one stream are applied in the order given.
public protocol StateStore: Sendable {
    /// Every kept stream, for a restart: oldest first.
    func load() async throws -> [StoredStream]

    /// The inventory, for a restart.
    func loadInventory() async throws -> StoredInventory

    /// Applies `changes` atomically, in order. Returns the streams whose changes were
    /// not kept while the rest were: a cluster node's changes to streams it no longer
    /// runs (its lease is gone); always empty for a single gateway's stores.
    @discardableResult
    func apply(_ changes: [StateChange]) async throws -> Set<StreamID>

    /// An archived stream (ended, no longer in memory): its saved room, or nil.
    func archived(_ stream: StreamID) async throws -> StoredStream?

    /// Removes archived streams archived before `before`; returns how many.
    func pruneArchive(before: Int64) async throws -> Int

    /// Flushes and closes; nothing is applied afterwards.
    func close() async throws
}
