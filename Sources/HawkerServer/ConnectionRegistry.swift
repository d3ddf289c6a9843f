import HawkerWebSocket
import NIOConcurrencyHelpers
import NIOCore

/// Counts open connections (to enforce `max_connections`) and remembers the WebSocket
/// channels so that a graceful shutdown can close each with 1001.
final class ConnectionRegistry: Sendable {
    private struct State {
        var total = 0
        var webSockets: [ObjectIdentifier: any Channel] = [:]
        var draining = false
    }

    private let state = NIOLockedValueBox(State())
    private let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Admits a new TCP connection unless the limit is reached or we are draining.
    func admit() -> Bool {
        state.withLockedValue { state in
            guard !state.draining, state.total < limit else { return false }
            state.total += 1
            return true
        }
    }

    func release() {
        state.withLockedValue { $0.total -= 1 }
    }

    func addWebSocket(_ channel: any Channel) {
        state.withLockedValue { $0.webSockets[ObjectIdentifier(channel)] = channel }
    }

    func removeWebSocket(_ channel: any Channel) {
        _ = state.withLockedValue { $0.webSockets.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var count: Int { state.withLockedValue { $0.total } }
    var isDraining: Bool { state.withLockedValue { $0.draining } }

    /// Stops admitting and asks every WebSocket to close with 1001.
    func startDraining() {
        let channels = state.withLockedValue { state in
            state.draining = true
            return Array(state.webSockets.values)
        }
        for channel in channels {
            channel.pipeline.triggerUserOutboundEvent(WebSocketCloseRequest(code: 1001, reason: "server shutting down"), promise: nil)
        }
    }
}
