import HawkerClient
import Histogram
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// How a batch of viewers connected: each one's time from TCP connect to its snapshot
/// (the `subscribed` reply), and the span over all of them.
struct ConnectStats: Codable, Sendable {
    var connected = 0
    var failed = 0
    /// The first failure's description, to say why.
    var firstError: String?
    var timeToSnapshot = DeliveryStats.emptyHistogram
    /// Monotonic nanoseconds: the first connect started, the last snapshot arrived.
    var firstStartNanos: UInt64 = .max
    var lastSnapshotNanos: UInt64 = 0

    var seconds: Double {
        lastSnapshotNanos > firstStartNanos ? Double(lastSnapshotNanos - firstStartNanos) / 1e9 : 0
    }

    mutating func merge(_ other: ConnectStats) {
        connected += other.connected
        failed += other.failed
        firstError = firstError ?? other.firstError
        timeToSnapshot.add(other.timeToSnapshot)
        firstStartNanos = min(firstStartNanos, other.firstStartNanos)
        lastSnapshotNanos = max(lastSnapshotNanos, other.lastSnapshotNanos)
    }
}

/// Viewers in this process: `connect`, `subscribe` (no JSON coding on the generator's
/// side), then every delivery counted and timed.
final class ViewerPool: Sendable {
    struct Plan: Sendable {
        var host: String
        var port: Int
        /// Cluster mode: viewer `i` (global index) connects to `ports[i % ports.count]`
        /// (the nodes on `host`); empty: every viewer to `port`.
        var ports: [Int] = []
        var tokens: ViewerTokens
        /// Viewer `i` (global index) watches `streams[i % streams.count]`.
        var streams: [String]
        /// Global index of this pool's first viewer.
        var firstIndex = 0
        var count: Int
        var connectConcurrency = 256
        var sourceAddress: SocketAddress?
        /// Every n-th viewer (by global index) is "slow": it stops reading on `pause()`.
        /// 0: none.
        var slowEvery = 0
    }

    let stats = DeliveryStats()
    private let plan: Plan
    private let group: any EventLoopGroup
    private let connections = NIOLockedValueBox<[(socket: WebSocketClient, counter: ViewerCounter, slow: Bool)]>([])
    private let closedByServer = NIOLockedValueBox(0)
    private let stopping = NIOLockedValueBox(false)

    init(plan: Plan, group: any EventLoopGroup) {
        self.plan = plan
        self.group = group
    }

    /// Opens every viewer, `connectConcurrency` handshakes in flight at a time.
    func connect() async -> ConnectStats {
        let plan = plan
        let stats = NIOLockedValueBox(ConnectStats())
        let tokens: [String]
        do {
            tokens = try await plan.tokens.sign(first: plan.firstIndex, count: plan.count)
        } catch {
            var failed = ConnectStats()
            failed.failed = plan.count
            failed.firstError = "could not sign the viewers' tokens: \(error)"
            return failed
        }
        await withTaskGroup(of: Void.self) { tasks in
            var next = 0
            func launch() {
                guard next < plan.count else { return }
                let index = plan.firstIndex + next
                let token = tokens[next]
                next += 1
                tasks.addTask { await self.openViewer(index: index, token: token, into: stats) }
            }
            for _ in 0..<min(plan.connectConcurrency, plan.count) { launch() }
            while await tasks.next() != nil { launch() }
        }
        return stats.withLockedValue { $0 }
    }

    private func openViewer(index: Int, token: String, into stats: NIOLockedValueBox<ConnectStats>) async {
        let started = NIODeadline.now().uptimeNanoseconds
        do {
            let slow = plan.slowEvery > 0 && index % plan.slowEvery == plan.slowEvery - 1
            var options = WebSocketClient.Options()
            options.sourceAddress = plan.sourceAddress
            // A slow viewer's small window makes the gateway's side back up within seconds
            // instead of after megabytes of kernel buffers.
            if slow { options.receiveBufferBytes = 4_096 }
            let port = plan.ports.isEmpty ? plan.port : plan.ports[index % plan.ports.count]
            let socket = try await WebSocketClient.connect(host: plan.host, port: port, options: options, group: group)
            let stream = plan.streams[index % plan.streams.count]
            // One round trip: the gateway keeps what follows `connect` until `welcome`.
            try await socket.send(text: #"{"type":"connect","id":"c","token":"\#(token)"}"#)
            try await socket.send(text: #"{"type":"subscribe","id":"s","stream":"\#(stream)"}"#)
            try await Self.expect("welcome", from: socket)
            try await Self.expect("subscribed", from: socket)
            let done = NIODeadline.now().uptimeNanoseconds
            let counter = ViewerCounter(stats: self.stats)
            try await socket.divertText { counter.receive($0) }
            connections.withLockedValue { $0.append((socket, counter, slow)) }
            socket.channel.closeFuture.whenComplete { [closedByServer, stopping] _ in
                if !stopping.withLockedValue({ $0 }) { closedByServer.withLockedValue { $0 += 1 } }
            }
            stats.withLockedValue {
                $0.connected += 1
                _ = $0.timeToSnapshot.record(done - started)
                $0.firstStartNanos = min($0.firstStartNanos, started)
                $0.lastSnapshotNanos = max($0.lastSnapshotNanos, done)
            }
        } catch {
            stats.withLockedValue {
                $0.failed += 1
                if $0.firstError == nil { $0.firstError = "\(error)" }
            }
        }
    }

    /// Skips pushes (presence, ...) until a message of `type` arrives.
    private static func expect(_ type: String, from socket: WebSocketClient) async throws {
        // The gateway does not promise an order of keys.
        let marker = #""type":"\#(type)""#
        while true {
            switch try await socket.next(timeout: .seconds(30)) {
            case .text(let text) where text.contains(marker):
                return
            case .text(let text) where text.contains(#""type":"error""#):
                throw LoadError("expected \(type), got \(text)")
            case .text:
                continue
            case .close(let code, let reason):
                throw LoadError("closed with \(code.map(String.init) ?? "no code") \(reason) before \(type)")
            case .binary, .compressed, nil:
                throw LoadError("connection ended before \(type)")
            }
        }
    }

    /// The slow share stops reading: its sockets fill up and the gateway has to cope.
    func pause() async {
        let slow = connections.withLockedValue { $0.filter(\.slow) }
        for viewer in slow {
            // What was already read is not counted: only the others' deliveries are expected.
            viewer.counter.mute()
            try? await viewer.socket.channel.setOption(ChannelOptions.autoRead, value: false).get()
        }
    }

    var slowCount: Int { connections.withLockedValue { $0.filter(\.slow).count } }
    /// Connections the gateway closed (or that failed) while the run went on.
    var closedCount: Int { closedByServer.withLockedValue { $0 } }
    var openCount: Int { connections.withLockedValue { $0.count } }

    func closeAll() async {
        stopping.withLockedValue { $0 = true }
        let sockets = connections.withLockedValue { $0.map(\.socket) }
        for socket in sockets { await socket.abort() }
    }
}

/// A failure worth a plain message.
struct LoadError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
