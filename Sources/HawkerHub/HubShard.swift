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
        try withStream(stream, create: true) { hosted in
            let (event, frame) = hosted.state.append(draft, now: now, frame: self.frame)
            hosted.snapshotJSON = nil
            let loops = hosted.loopRefs.indices.filter { hosted.loopRefs[$0] > 0 }
            return (event, frame, loops)
        }
    }

    func attach(_ stream: StreamID, loopIndex: Int, since: StreamPosition?, create: Bool, now: Int64) throws(HubError) -> SubscribeOutcome {
        try withStream(stream, create: create) { hosted in
            hosted.loopRefs[loopIndex] += 1
            let start = hosted.state.start(since: since, now: now)
            var snapshot: ByteBuffer?
            if case .snapshot = start { snapshot = Self.snapshotJSON(of: &hosted, allocator: allocator) }
            return SubscribeOutcome(position: hosted.state.position, start: start, snapshotJSON: snapshot)
        }
    }

    func detach(_ stream: StreamID, loopIndex: Int) {
        guard var hosted = streams[stream] else { return }
        hosted.loopRefs[loopIndex] = max(0, hosted.loopRefs[loopIndex] - 1)
        streams[stream] = hosted
    }

    func snapshot(of stream: StreamID) -> StreamSnapshot? {
        guard streams[stream] != nil else { return nil }
        return try? withStream(stream, create: false) { hosted in
            StreamSnapshot(position: hosted.state.position, snapshotJSON: Self.snapshotJSON(of: &hosted, allocator: allocator))
        }
    }

    private func withStream<T>(_ stream: StreamID, create: Bool, _ body: (inout HostedStream) -> T) throws(HubError) -> T {
        if streams[stream] == nil {
            guard create else { throw .streamNotFound }
            guard streams.count < maxStreams else { throw .tooManyStreams }
            let state = StreamState(
                stream: stream,
                epoch: RandomID.hex16(),
                historyCapacity: configuration.historyCapacity,
                historyMaxAgeMilliseconds: configuration.historyMaxAgeMilliseconds
            )
            streams[stream] = HostedStream(state: state, loopRefs: Array(repeating: 0, count: loopCount))
        }
        return body(&streams[stream]!)
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
