import HawkerWebSocket
import NIOConcurrencyHelpers
import NIOCore

/// Counts open connections (to enforce `max_connections`) and the half-open ones per
/// source address (accepted, not yet through their first request or upgrade), and
/// remembers them so that a graceful shutdown can close each WebSocket with 1001 and
/// drop idle HTTP keep-alives.
final class ConnectionRegistry: Sendable {
    enum Admission: Equatable {
        case admitted
        /// `max_connections`, or draining.
        case full
        /// The source address has `http.max_pending_per_address` handshakes open already.
        case tooManyPending
    }

    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var webSockets: Set<ObjectIdentifier> = []
        var draining = false
        /// New connections are refused at accept (draining, past `drain_grace_ms`).
        var refusing = false
        /// Half-open connections: their source address, and the count per address.
        var pendingAddress: [ObjectIdentifier: String] = [:]
        var pendingPerAddress: [String: Int] = [:]

        mutating func handshakeDone(_ id: ObjectIdentifier) {
            guard let address = pendingAddress.removeValue(forKey: id) else { return }
            let left = (pendingPerAddress[address] ?? 1) - 1
            pendingPerAddress[address] = left > 0 ? left : nil
        }
    }

    private let state = NIOLockedValueBox(State())
    private let limit: Int
    /// 0: no bound (behind a proxy every client has the proxy's address).
    private let pendingPerAddress: Int

    init(limit: Int, pendingPerAddress: Int = 0) {
        self.limit = limit
        self.pendingPerAddress = pendingPerAddress
    }

    /// Admits a new TCP connection unless a limit is reached or we are draining; it
    /// leaves the registry when it closes.
    func admit(_ channel: any Channel) -> Admission {
        let id = ObjectIdentifier(channel)
        let address = channel.remoteAddress?.ipAddress ?? ""
        let admission = state.withLockedValue { state -> Admission in
            guard !state.refusing, state.channels.count < limit else { return .full }
            if pendingPerAddress > 0 {
                let pending = state.pendingPerAddress[address] ?? 0
                guard pending < pendingPerAddress else { return .tooManyPending }
                state.pendingPerAddress[address] = pending + 1
                state.pendingAddress[id] = address
            }
            state.channels[id] = channel
            return .admitted
        }
        if admission == .admitted {
            channel.closeFuture.whenComplete { [self] _ in
                state.withLockedValue { state in
                    state.channels[id] = nil
                    state.webSockets.remove(id)
                    state.handshakeDone(id)
                }
            }
        }
        return admission
    }

    /// The connection sent a complete request or upgraded: no longer half-open.
    func handshakeDone(_ channel: any Channel) {
        state.withLockedValue { $0.handshakeDone(ObjectIdentifier(channel)) }
    }

    /// Half-open connections from `address`, for tests and metrics.
    func pending(from address: String) -> Int {
        state.withLockedValue { $0.pendingPerAddress[address] ?? 0 }
    }

    /// Marks an admitted connection as a WebSocket session.
    func markWebSocket(_ channel: any Channel) {
        _ = state.withLockedValue { $0.webSockets.insert(ObjectIdentifier(channel)) }
    }

    var count: Int { state.withLockedValue { $0.channels.count } }
    var isDraining: Bool { state.withLockedValue { $0.draining } }

    /// Fails readiness and upgrades, asks every WebSocket to close with 1001 and closes
    /// HTTP connections (idle keep-alives would otherwise hold the drain open). New
    /// connections are refused at accept unless `admittingMeanwhile` (`drain_grace_ms`:
    /// a load balancer's health checks then get their 503).
    func startDraining(admittingMeanwhile: Bool = false) {
        let (webSockets, others) = state.withLockedValue { state in
            state.draining = true
            state.refusing = !admittingMeanwhile
            let webSockets = state.channels.filter { state.webSockets.contains($0.key) }.map(\.value)
            let others = state.channels.filter { !state.webSockets.contains($0.key) }.map(\.value)
            return (webSockets, others)
        }
        for channel in webSockets {
            channel.pipeline.triggerUserOutboundEvent(WebSocketCloseRequest(code: 1001, reason: "server shutting down"), promise: nil)
        }
        for channel in others {
            channel.close(promise: nil)
        }
    }
}
