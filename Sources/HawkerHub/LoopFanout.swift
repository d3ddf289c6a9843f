import HawkerProtocol
import NIOCore

/// The subscribers living on one event loop, by stream. A broadcast arrives here once
/// per loop and is written to every local subscriber; flushes are batched so that
/// events arriving together leave in one flush per channel.
final class LoopFanout {
    private let eventLoop: any EventLoop
    private let observer: (any HubObserver)?
    private var streams: [StreamID: SubscriberSet] = [:]
    private var dirty: [any StreamSubscriber] = []
    private var flushing: [any StreamSubscriber] = []
    private var flushScheduled = false

    init(eventLoop: any EventLoop, observer: (any HubObserver)?) {
        self.eventLoop = eventLoop
        self.observer = observer
    }

    /// Returns true when `subscriber` is the first one for `stream` on this loop.
    @discardableResult
    func add(_ subscriber: any StreamSubscriber, to stream: StreamID) -> Bool {
        streams[stream, default: SubscriberSet()].insert(subscriber)
    }

    /// Returns true when the subscriber was registered.
    @discardableResult
    func remove(_ subscriber: any StreamSubscriber, from stream: StreamID) -> Bool {
        guard var set = streams.removeValue(forKey: stream) else { return false }
        let removed = set.remove(subscriber)
        if !set.isEmpty { streams[stream] = set }
        return removed
    }

    func subscriberCount(of stream: StreamID) -> Int { streams[stream]?.count ?? 0 }

    func deliver(_ frame: BroadcastFrame, to stream: StreamID) {
        guard let set = streams[stream] else { return }
        for subscriber in set.members where subscriber.receive(frame) {
            dirty.append(subscriber)
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
            for subscriber in flushing { subscriber.flushDeliveries() }
            flushing.removeAll(keepingCapacity: true)
        }
    }
}

@available(*, unavailable)
extension LoopFanout: Sendable {}
