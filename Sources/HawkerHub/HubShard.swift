import HawkerProtocol
import HawkerWebSocket
import NIOCore

/// The streams whose home is one event loop. Everything here runs on that loop, so
/// sequencing and stock-like counters need no locks.
final class HubShard {
    private struct HostedStream {
        var state: StreamState
        /// Subscribers per event loop index; a loop with none gets no hop.
        var loopRefs: [Int]
        /// The encoded snapshot, until the next event changes it.
        var snapshotJSON: ByteBuffer?
        /// The last event, subscribe or unsubscribe (milliseconds since the Unix epoch).
        var lastActivity: Int64

        var hasSubscribers: Bool { loopRefs.contains { $0 > 0 } }
    }

    private var streams: [StreamID: HostedStream] = [:]
    private let configuration: HubConfiguration
    private let loopCount: Int
    private let maxStreams: Int
    private let deflater: MessageDeflater?
    private let allocator = ByteBufferAllocator()

    init(configuration: HubConfiguration, loopCount: Int, shardCount: Int) {
        self.configuration = configuration
        self.loopCount = loopCount
        self.maxStreams = max(1, configuration.maxStreams / max(1, shardCount))
        self.deflater = configuration.compressionMinBytes == nil ? nil : MessageDeflater(level: configuration.compressionLevel)
    }

    var streamCount: Int { streams.count }

    func publish(_ draft: EventDraft, to stream: StreamID, now: Int64) throws(HubError) -> (StreamEvent, BroadcastFrame, [Int]) {
        try withStream(stream, create: true, now: now) { hosted in
            let (event, frame) = hosted.state.append(draft, now: now, frame: self.frame)
            hosted.snapshotJSON = nil
            let loops = hosted.loopRefs.indices.filter { hosted.loopRefs[$0] > 0 }
            return (event, frame, loops)
        }
    }

    func attach(_ stream: StreamID, loopIndex: Int, since: StreamPosition?, create: Bool, now: Int64) throws(HubError) -> SubscribeOutcome {
        try withStream(stream, create: create, now: now) { hosted in
            hosted.loopRefs[loopIndex] += 1
            let start = hosted.state.start(since: since, now: now)
            var snapshot: ByteBuffer?
            if case .snapshot = start { snapshot = Self.snapshotJSON(of: &hosted, allocator: allocator) }
            return SubscribeOutcome(position: hosted.state.position, start: start, snapshotJSON: snapshot)
        }
    }

    func detach(_ stream: StreamID, loopIndex: Int, now: Int64) {
        guard var hosted = streams[stream] else { return }
        hosted.loopRefs[loopIndex] = max(0, hosted.loopRefs[loopIndex] - 1)
        hosted.lastActivity = now
        streams[stream] = hosted
    }

    func snapshot(of stream: StreamID) -> StreamSnapshot? {
        guard streams[stream] != nil else { return nil }
        return try? withStream(stream, create: false, now: nil) { hosted in
            StreamSnapshot(position: hosted.state.position, snapshotJSON: Self.snapshotJSON(of: &hosted, allocator: allocator))
        }
    }

    /// `now` is nil for reads, which do not count as activity.
    private func withStream<T>(_ stream: StreamID, create: Bool, now: Int64?, _ body: (inout HostedStream) -> T) throws(HubError) -> T {
        if streams[stream] == nil {
            guard create else { throw .streamNotFound }
            guard streams.count < maxStreams || evictIdleStream(now: now ?? 0) else { throw .tooManyStreams }
            let state = StreamState(
                stream: stream,
                epoch: RandomID.hex16(),
                historyCapacity: configuration.historyCapacity,
                historyMaxAgeMilliseconds: configuration.historyMaxAgeMilliseconds
            )
            streams[stream] = HostedStream(state: state, loopRefs: Array(repeating: 0, count: loopCount), lastActivity: now ?? 0)
        }
        if let now { streams[stream]!.lastActivity = now }
        return body(&streams[stream]!)
    }

    /// Drops the stream idle longest, if one has no subscribers and has been idle for
    /// `idleStreamMilliseconds`. Scans only when the shard is full.
    private func evictIdleStream(now: Int64) -> Bool {
        let idle = streams.filter { !$0.value.hasSubscribers && now - $0.value.lastActivity >= configuration.idleStreamMilliseconds }
        guard let oldest = idle.min(by: { $0.value.lastActivity < $1.value.lastActivity }) else { return false }
        streams[oldest.key] = nil
        return true
    }

    private static func snapshotJSON(of hosted: inout HostedStream, allocator: ByteBufferAllocator) -> ByteBuffer {
        if let cached = hosted.snapshotJSON { return cached }
        let encoded = StreamEvent.encodeSnapshot(hosted.state.snapshot, allocator: allocator)
        hosted.snapshotJSON = encoded
        return encoded
    }

    /// Encodes and frames an event once for all viewers.
    private func frame(_ event: StreamEvent) -> BroadcastFrame {
        let payload = ServerMessage.event(event).encode(allocator: allocator)
        let plain = WebSocketFrameHeader.textFrame(payload, allocator: allocator)
        var deflated: ByteBuffer?
        if let deflater, let minimum = configuration.compressionMinBytes, payload.readableBytes >= minimum,
            let compressed = try? deflater.compress(payload, windowBits: 15, allocator: allocator),
            compressed.readableBytes < payload.readableBytes
        {
            deflated = WebSocketFrameHeader.textFrame(compressed, compressed: true, allocator: allocator)
        }
        return BroadcastFrame(seq: event.seq, plain: plain, deflated: deflated)
    }
}

@available(*, unavailable)
extension HubShard: Sendable {}
