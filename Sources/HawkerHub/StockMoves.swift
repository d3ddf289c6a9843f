import HawkerCommerce
import HawkerProtocol
import Synchronization

/// Levels that moved, on their way to the streams that show them: gathered per home loop
/// and handed over in one hop per loop turn, however many checkouts moved them (one hop
/// per checkout was a tenth of a checkout storm's event-loop time).
final class StockMoves: Sendable {
    private struct Pending {
        var moved: [StreamID: Set<SKU>] = [:]
        var scheduled = false
    }

    private let pending: Mutex<[Pending]>

    init(loops: Int) {
        pending = Mutex(Array(repeating: Pending(), count: loops))
    }

    /// Adds moves for streams of loop `index`; true when a hop to it must be scheduled
    /// (none is on its way yet).
    func add(_ skus: Set<SKU>, for stream: StreamID, loop index: Int) -> Bool {
        pending.withLock { pending in
            pending[index].moved[stream, default: []].formUnion(skus)
            defer { pending[index].scheduled = true }
            return !pending[index].scheduled
        }
    }

    /// What gathered for loop `index` since the last take: the hop has come.
    func take(loop index: Int) -> [StreamID: Set<SKU>] {
        pending.withLock { pending in
            pending[index].scheduled = false
            defer { pending[index].moved.removeAll(keepingCapacity: true) }
            return pending[index].moved
        }
    }
}
