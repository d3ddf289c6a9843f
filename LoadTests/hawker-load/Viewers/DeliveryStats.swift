import Histogram
import NIOConcurrencyHelpers
import NIOCore

/// What a group of viewers received: counts, order, and end-to-end latency per phase in HDR
/// histograms. Workers send their snapshot to the coordinator, which merges them.
final class DeliveryStats: Sendable {
    /// Events carry `ph=<n>` in their text: 0 is warm-up (counted, not timed), then the
    /// scenario's measured phases (the slow scenario has two).
    static let phases = 3

    struct Snapshot: Codable, Sendable {
        var delivered = 0
        var reordered = 0
        /// Events a backed-up viewer was told it skipped (`gap.coalesced`): superseded
        /// state, by design not delivered.
        var coalesced = 0
        var deliveredPerPhase = [Int](repeating: 0, count: DeliveryStats.phases)
        var latency = [Histogram<UInt64>](repeating: DeliveryStats.emptyHistogram, count: DeliveryStats.phases)
        /// Monotonic (CLOCK_MONOTONIC, the same in every process on the machine).
        var lastDeliveryNanos: UInt64 = 0

        mutating func merge(_ other: Snapshot) {
            delivered += other.delivered
            reordered += other.reordered
            coalesced += other.coalesced
            for phase in 0..<DeliveryStats.phases {
                deliveredPerPhase[phase] += other.deliveredPerPhase[phase]
                latency[phase].add(other.latency[phase])
            }
            lastDeliveryNanos = max(lastDeliveryNanos, other.lastDeliveryNanos)
        }
    }

    static let emptyHistogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)

    private let state = NIOLockedValueBox(Snapshot())

    func record(latencyNanos: UInt64, phase: Int, inOrder: Bool, now: UInt64) {
        state.withLockedValue { state in
            state.delivered += 1
            if !inOrder { state.reordered += 1 }
            let phase = min(max(phase, 0), Self.phases - 1)
            state.deliveredPerPhase[phase] += 1
            if phase > 0 { _ = state.latency[phase].record(latencyNanos) }
            state.lastDeliveryNanos = max(state.lastDeliveryNanos, now)
        }
    }

    func recordCoalesced(_ count: Int) {
        state.withLockedValue { $0.coalesced += count }
    }

    var snapshot: Snapshot { state.withLockedValue { $0 } }
    var counts: (delivered: Int, coalesced: Int) { state.withLockedValue { ($0.delivered, $0.coalesced) } }
}

/// One viewer's view of its stream: the last seq, to spot loss and reordering.
final class ViewerCounter: Sendable {
    private struct State {
        var lastSeq: Int64 = 0
        /// Set by a `gap` notice: the next seq may jump.
        var afterGap = false
        var muted = false
    }

    private let state = NIOLockedValueBox(State())
    private let stats: DeliveryStats

    init(stats: DeliveryStats) {
        self.stats = stats
    }

    /// From now on nothing this viewer receives is counted (a slow viewer that stopped).
    func mute() {
        state.withLockedValue { $0.muted = true }
    }

    /// Called on the connection's event loop for every text message.
    func receive(_ buffer: ByteBuffer) {
        if state.withLockedValue({ $0.muted }) { return }
        let now = NIODeadline.now().uptimeNanoseconds
        guard let seq = Self.integer(after: #""seq":"#, in: buffer) else {
            // Not an event; a `gap` notice says how many were superseded (keys come in any order).
            if Self.find(#""type":"gap""#, in: buffer) {
                stats.recordCoalesced(Int(Self.integer(after: #""coalesced":"#, in: buffer) ?? 0))
                state.withLockedValue { $0.afterGap = true }
            }
            return
        }
        guard let sentAt = Self.integer(after: "ts=", in: buffer) else { return }  // not ours
        let phase = Int(Self.integer(after: "ph=", in: buffer) ?? 1)
        let inOrder = state.withLockedValue { state in
            defer {
                state.lastSeq = seq
                state.afterGap = false
            }
            return seq == state.lastSeq + 1 || state.lastSeq == 0 || (state.afterGap && seq > state.lastSeq)
        }
        stats.record(latencyNanos: now > UInt64(sentAt) ? now - UInt64(sentAt) : 0, phase: phase, inOrder: inOrder, now: now)
    }

    /// Whether `marker` occurs in `buffer`.
    static func find(_ marker: String, in buffer: ByteBuffer) -> Bool {
        offset(after: marker, in: buffer) != nil
    }

    /// Where the bytes right after the first `marker` start, if it occurs.
    static func offset(after marker: String, in buffer: ByteBuffer) -> Int? {
        let needle = Array(marker.utf8)
        return buffer.withUnsafeReadableBytes { bytes -> Int? in
            guard bytes.count >= needle.count else { return nil }
            var index = 0
            outer: while index <= bytes.count - needle.count {
                for offset in 0..<needle.count where bytes[index + offset] != needle[offset] {
                    index += 1
                    continue outer
                }
                return index + needle.count
            }
            return nil
        }
    }

    /// The decimal integer right after `marker` in `buffer`, if any.
    static func integer(after marker: String, in buffer: ByteBuffer) -> Int64? {
        guard let start = offset(after: marker, in: buffer) else { return nil }
        return buffer.withUnsafeReadableBytes { bytes -> Int64? in
            var position = start
            var value: Int64 = 0
            while position < bytes.count, (48...57).contains(bytes[position]) {
                value = value * 10 + Int64(bytes[position] - 48)
                position += 1
            }
            return position > start ? value : nil
        }
    }
}
