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

    private static let seqMarker = Array(#""seq":"#.utf8)
    private static let sentMarker = Array("ts=".utf8)
    private static let phaseMarker = Array("ph=".utf8)
    private static let gapMarker = Array(#""type":"gap""#.utf8)
    private static let coalescedMarker = Array(#""coalesced":"#.utf8)

    /// Called on the connection's event loop for every text message. The generator shares
    /// the machine with the gateway: this runs for every delivery, so it scans the bytes
    /// once per marker without allocating and takes one lock.
    func receive(_ buffer: ByteBuffer) {
        let now = NIODeadline.now().uptimeNanoseconds
        buffer.withUnsafeReadableBytes { bytes in
            guard let seq = Self.integer(after: Self.seqMarker, in: bytes) else {
                // Not an event; a `gap` notice says how many were superseded (keys come in any order).
                if Self.offset(after: Self.gapMarker, in: bytes) != nil {
                    let coalesced = Int(Self.integer(after: Self.coalescedMarker, in: bytes) ?? 0)
                    let muted = state.withLockedValue { state in
                        state.afterGap = true
                        return state.muted
                    }
                    if !muted { stats.recordCoalesced(coalesced) }
                }
                return
            }
            guard let sentAt = Self.integer(after: Self.sentMarker, in: bytes) else { return }  // not ours
            let phase = Int(Self.integer(after: Self.phaseMarker, in: bytes) ?? 1)
            let inOrder: Bool? = state.withLockedValue { state in
                if state.muted { return nil }
                defer {
                    state.lastSeq = seq
                    state.afterGap = false
                }
                return seq == state.lastSeq + 1 || state.lastSeq == 0 || (state.afterGap && seq > state.lastSeq)
            }
            guard let inOrder else { return }
            stats.record(latencyNanos: now > UInt64(sentAt) ? now - UInt64(sentAt) : 0, phase: phase, inOrder: inOrder, now: now)
        }
    }

    /// Where the bytes right after the first `needle` start, if it occurs.
    static func offset(after needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let first = needle.first, bytes.count >= needle.count else { return nil }
        var index = 0
        let last = bytes.count - needle.count
        outer: while index <= last {
            guard bytes[index] == first else {
                index += 1
                continue
            }
            for offset in 1..<needle.count where bytes[index + offset] != needle[offset] {
                index += 1
                continue outer
            }
            return index + needle.count
        }
        return nil
    }

    /// The decimal integer right after `needle`, if any.
    static func integer(after needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int64? {
        guard let start = offset(after: needle, in: bytes) else { return nil }
        var position = start
        var value: Int64 = 0
        while position < bytes.count, (48...57).contains(bytes[position]) {
            value = value * 10 + Int64(bytes[position] - 48)
            position += 1
        }
        return position > start ? value : nil
    }

    /// Whether `marker` occurs in `buffer` (replies, not deliveries: allocation is fine).
    static func find(_ marker: String, in buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { offset(after: Array(marker.utf8), in: $0) != nil }
    }

    /// The decimal integer right after `marker` in `buffer`, if any.
    static func integer(after marker: String, in buffer: ByteBuffer) -> Int64? {
        buffer.withUnsafeReadableBytes { integer(after: Array(marker.utf8), in: $0) }
    }

}
