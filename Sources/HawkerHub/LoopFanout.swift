import HawkerCommerce
import HawkerProtocol
import NIOCore

/// The subscribers living on one event loop, by stream. A broadcast arrives here once
/// per loop and is written to every local subscriber of its audience; flushes are
/// batched so that frames arriving together leave in one flush per channel.
final class LoopFanout {
    private struct Local {
        var everyone = SubscriberSet()
        /// Hosts, moderators and admins: also in `everyone`.
        var staff = SubscriberSet()
    }

    private let eventLoop: any EventLoop
    private let observer: (any HubObserver)?
    private var streams: [StreamID: Local] = [:]
    /// What this loop's deliveries since the last flush wrote to: each once.
    private var dirty: [any BroadcastFlusher] = []
    private var flushing: [any BroadcastFlusher] = []
    private var flushScheduled = false

    init(eventLoop: any EventLoop, observer: (any HubObserver)?) {
        self.eventLoop = eventLoop
        self.observer = observer
    }

    /// Returns true when `subscriber` was not registered yet.
    @discardableResult
    func add(_ subscriber: any StreamSubscriber, to stream: StreamID, staff: Bool) -> Bool {
        // Mutated in place: a copy taken out of the dictionary would share the member
        // array with it, and every join would copy the whole array (quadratic in a
        // connect storm: 10,000 viewers joining cost ~100 µs each).
        let inserted = streams[stream, default: Local()].everyone.insert(subscriber)
        if staff { streams[stream, default: Local()].staff.insert(subscriber) }
        return inserted
    }

    /// Returns true when the subscriber was registered.
    @discardableResult
    func remove(_ subscriber: any StreamSubscriber, from stream: StreamID) -> Bool {
        guard var local = streams.removeValue(forKey: stream) else { return false }
        let removed = local.everyone.remove(subscriber)
        local.staff.remove(subscriber)
        if !local.everyone.isEmpty { streams[stream] = local }
        return removed
    }

    func subscriberCount(of stream: StreamID) -> Int { streams[stream]?.everyone.count ?? 0 }

    func deliver(_ frame: BroadcastFrame, to stream: StreamID, audience: Audience = .everyone) {
        guard let local = streams[stream] else { return }
        let set = audience == .staff ? local.staff : local.everyone
        guard !set.isEmpty else { return }
        for subscriber in set.members {
            if let flusher = subscriber.receive(frame, from: stream) { dirty.append(flusher) }
        }
        scheduleFlush()
        observer?.delivered(
            subscribers: set.count,
            bytes: frame.plain.readableBytes,
            latencyNanoseconds: (NIODeadline.now() - frame.sequencedAt).nanoseconds
        )
    }

    /// Flushes after the tasks already queued on this loop, so that deliveries queued
    /// together share one flush per channel.
    private func scheduleFlush() {
        guard !flushScheduled, !dirty.isEmpty else { return }
        flushScheduled = true
        eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            // Swap buffers instead of copying, so a batch allocates nothing.
            swap(&dirty, &flushing)
            for flusher in flushing { flusher.flushBroadcasts() }
            flushing.removeAll(keepingCapacity: true)
        }
    }
}

@available(*, unavailable)
extension LoopFanout: Sendable {}
