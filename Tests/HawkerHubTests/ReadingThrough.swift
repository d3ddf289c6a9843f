import HawkerProtocol
import HawkerState

/// A test store whose writes are its own (faults, counts) and whose reads and close are
/// the in-memory store it keeps them in.
protocol ReadingThrough: StateStore {
    var reads: MemoryStateStore { get }
}

extension ReadingThrough {
    func load() async throws -> [StoredStream] { try await reads.load() }
    func loadInventory() async throws -> StoredInventory { try await reads.loadInventory() }
    func archived(_ stream: StreamID) async throws -> StoredStream? { try await reads.archived(stream) }
    func pruneArchive(before: Int64) async throws -> Int { try await reads.pruneArchive(before: before) }
    func close() async throws { try await reads.close() }
}
