import HawkerOrders
import HawkerProtocol
import Logging
import Synchronization

/// Counts what viewers referred by influencers' codes do before buying (a visit to a
/// stream, an add-to-cart) and adds the counts to the outbox about once a second, so that
/// they outlive restarts with the earnings; a crash loses at most that second.
///
/// Each viewer counts once per code, stream and day (and product, for add-to-carts) as
/// far as this process remembers: the set of what was counted is bounded and starts over
/// when full, so a flood of repeats cannot grow it, at the price of rare double counts.
final class FunnelRecorder: Sendable {
    private struct Key: Hashable {
        var influencer: String
        var code: String
        var stream: String
        var day: Int64
    }

    private struct State {
        var pending: [Key: (visits: Int64, addToCart: Int64)] = [:]
        var counted: Set<String> = []
    }

    private let state = Mutex(State())
    private let outbox: any Outbox
    private let logger: Logger

    /// What is remembered as counted, and the rows waiting for the next write, at most.
    static let maxCounted = 100_000
    static let maxPending = 10_000

    init(outbox: any Outbox, logger: Logger) {
        self.outbox = outbox
        self.logger = logger
    }

    /// `viewer` arrived in `stream` through `code`'s link (or came back with its ticket).
    func visit(code: String, influencer: String, stream: StreamID, viewer: String, now: Int64) {
        count(Key(influencer: influencer, code: code, stream: stream.rawValue, day: now / FunnelCount.dayMilliseconds), once: "v\u{0}\(viewer)", visit: true)
    }

    /// `viewer`, referred by `code`, added `product` to its cart in `stream`.
    func addToCart(code: String, influencer: String, stream: StreamID, viewer: String, product: String, now: Int64) {
        count(
            Key(influencer: influencer, code: code, stream: stream.rawValue, day: now / FunnelCount.dayMilliseconds), once: "a\u{0}\(viewer)\u{0}\(product)",
            visit: false)
    }

    private func count(_ key: Key, once: String, visit: Bool) {
        state.withLock { state in
            // Past the rows a write holds, new ones wait (uncounted) for the next write.
            guard state.pending[key] != nil || state.pending.count < Self.maxPending else { return }
            if state.counted.count >= Self.maxCounted { state.counted.removeAll(keepingCapacity: true) }
            guard state.counted.insert("\(key.influencer)\u{0}\(key.code)\u{0}\(key.stream)\u{0}\(key.day)\u{0}\(once)").inserted else { return }
            var entry = state.pending[key, default: (0, 0)]
            if visit { entry.visits += 1 } else { entry.addToCart += 1 }
            state.pending[key] = entry
        }
    }

    /// Writes what was counted, about once a second, until cancelled; then once more (the
    /// gateway also flushes before it stops the outbox).
    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            await flush()
        }
        await flush()
    }

    /// Writes the counts so far; on failure they wait for the next write.
    func flush() async {
        let taken = state.withLock { state in
            defer { state.pending.removeAll() }
            return state.pending
        }
        guard !taken.isEmpty else { return }
        let counts = taken.map { key, value in
            FunnelCount(influencer: key.influencer, code: key.code, stream: key.stream, day: key.day, visits: value.visits, addToCart: value.addToCart)
        }
        do {
            try await outbox.recordFunnel(counts)
        } catch {
            logger.warning("could not write the influencers' funnel counts; trying again", metadata: ["error": "\(error)"])
            state.withLock { state in
                for (key, value) in taken where state.pending[key] != nil || state.pending.count < Self.maxPending {
                    var entry = state.pending[key, default: (0, 0)]
                    entry.visits += value.visits
                    entry.addToCart += value.addToCart
                    state.pending[key] = entry
                }
            }
        }
    }
}
