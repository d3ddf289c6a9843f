import HawkerAuth
import HawkerClient
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A host's connection publishing open loop: every event has its scheduled slot, carries
/// that slot as its send time (`ts=`), and is sent without waiting for the reply, so a
/// slow gateway cannot slow the schedule down (no coordinated omission).
final class Publisher: Sendable {
    private let socket: WebSocketClient
    private let replies = NIOLockedValueBox((published: 0, refused: 0, firstRefusal: String?.none))

    private init(socket: WebSocketClient) {
        self.socket = socket
    }

    static func open(host: String, port: Int, group: any EventLoopGroup, issuer: TokenIssuer) async throws -> Publisher {
        let connection = try await HawkerConnection.open(host: host, port: port, group: group)
        // An operator's token: it creates streams for others (no per-user stream quota).
        try await connection.connect(token: try await issuer.issue(subject: "load-publisher", role: .admin, streams: ["*"], ttl: 3_600))
        let publisher = Publisher(socket: connection.socket)
        try await connection.socket.divertText { [replies = publisher.replies] buffer in
            // The gateway does not promise an order of keys.
            if ViewerCounter.find(#""type":"published""#, in: buffer) {
                replies.withLockedValue { $0.published += 1 }
            } else if ViewerCounter.find(#""type":"error""#, in: buffer) {
                replies.withLockedValue {
                    $0.refused += 1
                    if $0.firstRefusal == nil { $0.firstRefusal = String(buffer: buffer) }
                }
            }
        }
        return publisher
    }

    /// Starts the streams (pipelined), and waits until the gateway has them all.
    func start(_ streams: [String]) async throws {
        let before = replies.withLockedValue { $0.published }
        for stream in streams {
            try await send(#"{"type":"publish","id":"start","stream":"\#(stream)","event":{"kind":"stream.started","data":{}}}"#)
        }
        let deadline = NIODeadline.now() + .seconds(60)
        while replies.withLockedValue({ $0.published }) < before + streams.count {
            if let refusal = replies.withLockedValue({ $0.firstRefusal }) { throw LoadError("starting a stream was refused: \(refusal)") }
            guard NIODeadline.now() < deadline else { throw LoadError("the gateway did not start \(streams.count) streams within 60 s") }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    /// Publishes `count` announcements at `rate` per second, round-robin over `streams`,
    /// each `payload` bytes of text marked with its slot time and `phase`. Slots that are
    /// already due are sent together, so high rates do not depend on the sleep's precision.
    func publish(count: Int, rate: Int, payload: Int, streams: [String], phase: Int, firstIndex: Int = 0, onProgress: (Int) -> Void = { _ in }) async throws {
        let start = NIODeadline.now()
        let interval = 1_000_000_000 / Int64(max(1, rate))
        var index = 0
        while index < count {
            let slot = start + .nanoseconds(Int64(index) * interval)
            let wait = slot - NIODeadline.now()
            if wait > .zero { try await Task.sleep(nanoseconds: UInt64(wait.nanoseconds)) }
            let now = NIODeadline.now()
            while index < count, start + .nanoseconds(Int64(index) * interval) <= now {
                let slot = start + .nanoseconds(Int64(index) * interval)
                let global = firstIndex + index
                let mark = "ts=\(slot.uptimeNanoseconds);ph=\(phase);"
                let text = mark + String(repeating: "x", count: max(0, payload - mark.utf8.count))
                try await send(#"{"type":"publish","id":"\#(global)","stream":"\#(streams[global % streams.count])","event":{"kind":"announcement","data":{"text":"\#(text)"}}}"#)
                index += 1
            }
            onProgress(index)
        }
    }

    private func send(_ text: String) async throws {
        try await socket.send(text: text)
    }

    var refusals: (count: Int, first: String?) { replies.withLockedValue { ($0.refused, $0.firstRefusal) } }

    func close() async { await socket.abort() }
}

/// The deliveries to expect when events `firstEvent..<firstEvent+events` go round-robin
/// over `streams` streams and viewer i watches stream i % streams; `counts` says which
/// viewers count (the slow scenario leaves out the ones that stop reading).
func expectedDeliveries(events: Int, firstEvent: Int = 0, viewers: Int, streams: Int, counts: (Int) -> Bool = { _ in true }) -> Int {
    // Events with index in 0..<end that land on `stream`.
    func through(_ end: Int, _ stream: Int) -> Int { end / streams + (stream < end % streams ? 1 : 0) }
    var total = 0
    for viewer in 0..<viewers where counts(viewer) {
        let stream = viewer % streams
        total += through(firstEvent + events, stream) - through(firstEvent, stream)
    }
    return total
}
