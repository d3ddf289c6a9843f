import HawkerProtocol
import Synchronization

/// A `StateStore` in this process's memory: the store of a gateway run without a data
/// directory for state, and of tests. Nothing survives the process.
public final class MemoryStateStore: SynchronousStateStore {
    private struct Contents {
        var streams: [StreamID: StoredStream] = [:]
        /// Creation order, for `load`.
        var order: [StreamID] = []
        var inventory = StoredInventory()
        var closed = false
    }

    private let contents = Mutex(Contents())

    public init() {}

    public func load() async throws -> [StoredStream] {
        contents.withLock { contents in
            contents.order.compactMap { contents.streams[$0] }.filter { $0.archivedAt == nil }
        }
    }

    public func loadInventory() async throws -> StoredInventory {
        contents.withLock { contents in
            var inventory = contents.inventory
            inventory.reservations.sort { ($0.checkoutID, $0.merchant) < ($1.checkoutID, $1.merchant) }
            return inventory
        }
    }

    @discardableResult
    public func apply(_ changes: [StateChange]) async throws -> Set<StreamID> {
        try applyNow(changes)
    }

    @discardableResult
    public func applyNow(_ changes: [StateChange]) throws -> Set<StreamID> {
        try contents.withLock { contents in
            guard !contents.closed else { throw StateStoreError(.closed, "the state store is closed") }
            // Whole or nothing: applied to a copy, kept only when every change applied.
            var copy = contents
            for change in changes { try Self.apply(change, to: &copy) }
            contents = copy
        }
        return []
    }

    private static func apply(_ change: StateChange, to contents: inout Contents) throws {
        switch change {
        case .created(let stream, let epoch, let createdAt, let owner):
            if contents.streams[stream] != nil { contents.order.removeAll { $0 == stream } }
            contents.streams[stream] = StoredStream(stream: stream, epoch: epoch, createdAt: createdAt, owner: owner)
            contents.order.append(stream)
        case .appended(let stream, let event):
            guard contents.streams[stream] != nil else { throw StateStoreError(.unknownStream, "no stream '\(stream.rawValue)' is kept") }
            guard !contents.streams[stream]!.events.contains(where: { $0.seq == event.seq }) else {
                throw StateStoreError(.conflict, "event \(event.seq) of '\(stream.rawValue)' is kept already")
            }
            contents.streams[stream]!.events.append(event)
            if let last = contents.streams[stream]!.events.dropLast().last, last.seq > event.seq {
                contents.streams[stream]!.events.sort { $0.seq < $1.seq }
            }
        case .trimmed(let stream, let seq):
            contents.streams[stream]?.events.removeAll { $0.seq <= seq }
        case .roomSaved(let stream, let room):
            guard contents.streams[stream] != nil else { throw StateStoreError(.unknownStream, "no stream '\(stream.rawValue)' is kept") }
            contents.streams[stream]!.room = room
        case .archived(let stream, let at):
            contents.streams[stream]?.events = []
            contents.streams[stream]?.archivedAt = at
        case .removed(let stream):
            contents.streams[stream] = nil
            contents.order.removeAll { $0 == stream }
        case .stockOnHand(let sku, let onHand):
            contents.inventory.onHand[sku] = onHand
        case .reservationOpened(let checkoutID, let merchant, let units):
            contents.inventory.reservations.removeAll { $0.checkoutID == checkoutID && $0.merchant == merchant }
            contents.inventory.reservations.append(.init(checkoutID: checkoutID, merchant: merchant, units: units))
        case .fence:
            break
        case .stockAdjusted(let sku, let delta, _):
            if let onHand = contents.inventory.onHand[sku] { contents.inventory.onHand[sku] = max(0, onHand + delta) }
        case .reservationClosed(let checkoutID, let merchant, let confirmed):
            if confirmed, let hold = contents.inventory.reservations.first(where: { $0.checkoutID == checkoutID && $0.merchant == merchant }) {
                for (sku, units) in hold.units {
                    if let onHand = contents.inventory.onHand[sku] { contents.inventory.onHand[sku] = max(0, onHand - units) }
                }
            }
            contents.inventory.reservations.removeAll { $0.checkoutID == checkoutID && $0.merchant == merchant }
        }
    }

    public func archived(_ stream: StreamID) async throws -> StoredStream? {
        contents.withLock { $0.streams[stream] }.flatMap { $0.archivedAt == nil ? nil : $0 }
    }

    public func pruneArchive(before: Int64) async throws -> Int {
        contents.withLock { contents in
            let pruned = contents.streams.values.filter { ($0.archivedAt ?? .max) < before }.map(\.stream)
            for stream in pruned { contents.streams[stream] = nil }
            contents.order.removeAll { contents.streams[$0] == nil }
            return pruned.count
        }
    }

    public func close() async throws {
        contents.withLock { $0.closed = true }
    }
}
