import Histogram
import NIOConcurrencyHelpers
import NIOCore

/// What the viewers received: counts, order, and end-to-end latency in an HDR histogram.
final class DeliveryStats: Sendable {
    struct Snapshot {
        var delivered = 0
        var reordered = 0
        /// Events a backed-up viewer was told it skipped (`gap.coalesced`): superseded
        /// state, by design not delivered.
        var coalesced = 0
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var lastDeliveryNanos: UInt64 = 0
    }

    private let state = NIOLockedValueBox(Snapshot())

    func record(latencyNanos: UInt64?, inOrder: Bool, now: UInt64) {
        state.withLockedValue { state in
            state.delivered += 1
            if !inOrder { state.reordered += 1 }
            if let latencyNanos { _ = state.latency.record(latencyNanos) }
            state.lastDeliveryNanos = max(state.lastDeliveryNanos, now)
        }
    }

    func recordCoalesced(_ count: Int) {
        state.withLockedValue { $0.coalesced += count }
    }

    var snapshot: Snapshot { state.withLockedValue { $0 } }
}

/// One viewer's view of its stream: the last seq, to spot loss and reordering.
final class ViewerCounter: Sendable {
    private let lastSeq = NIOLockedValueBox<Int64>(0)
    /// Set by a `gap` notice: the next seq may jump.
    private let afterGap = NIOLockedValueBox(false)
    private let stats: DeliveryStats
    private static let gapPrefix = Array(#"{"type":"gap""#.utf8)

    init(stats: DeliveryStats) {
        self.stats = stats
    }

    /// Called on the connection's event loop for every text message.
    func receive(_ buffer: ByteBuffer) {
        let now = NIODeadline.now().uptimeNanoseconds
        if buffer.readableBytesView.starts(with: Self.gapPrefix) {
            stats.recordCoalesced(Int(Self.integer(after: #""coalesced":"#, in: buffer) ?? 0))
            afterGap.withLockedValue { $0 = true }
            return
        }
        guard let seq = Self.integer(after: #""seq":"#, in: buffer) else { return }  // not an event
        let sentAt = Self.integer(after: "ts=", in: buffer)
        let jumpAllowed = afterGap.withLockedValue { allowed in
            defer { allowed = false }
            return allowed
        }
        let inOrder = lastSeq.withLockedValue { last in
            defer { last = seq }
            return seq == last + 1 || last == 0 || (jumpAllowed && seq > last)
        }
        stats.record(latencyNanos: sentAt.map { now > UInt64($0) ? now - UInt64($0) : 0 }, inOrder: inOrder, now: now)
    }

    /// The decimal integer right after `marker` in `buffer`, if any.
    static func integer(after marker: String, in buffer: ByteBuffer) -> Int64? {
        let needle = Array(marker.utf8)
        return buffer.withUnsafeReadableBytes { bytes -> Int64? in
            guard bytes.count >= needle.count else { return nil }
            var index = 0
            outer: while index <= bytes.count - needle.count {
                for offset in 0..<needle.count where bytes[index + offset] != needle[offset] {
                    index += 1
                    continue outer
                }
                var position = index + needle.count
                var value: Int64 = 0
                var digits = 0
                while position < bytes.count, (48...57).contains(bytes[position]) {
                    value = value * 10 + Int64(bytes[position] - 48)
                    position += 1
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            return nil
        }
    }
}
