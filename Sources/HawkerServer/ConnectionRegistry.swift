import HawkerWebSocket
import NIOConcurrencyHelpers
import NIOCore

/// Counts open connections (to enforce `max_connections`) and remembers them so that a
/// graceful shutdown can close each WebSocket with 1001 and drop idle HTTP keep-alives.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var webSockets: Set<ObjectIdentifier> = []
        var draining = false
    }

    private let state = NIOLockedValueBox(State())
    private let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Admits a new TCP connection unless the limit is reached or we are draining; it
    /// leaves the registry when it closes.
    func admit(_ channel: any Channel) -> Bool {
        let admitted = state.withLockedValue { state in
            guard !state.draining, state.channels.count < limit else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { [self] _ in
                state.withLockedValue { state in
                    state.channels[ObjectIdentifier(channel)] = nil
                    state.webSockets.remove(ObjectIdentifier(channel))
                }
            }
        }
        return admitted
    }

    /// Marks an admitted connection as a WebSocket session.
    func markWebSocket(_ channel: any Channel) {
        _ = state.withLockedValue { $0.webSockets.insert(ObjectIdentifier(channel)) }
    }

    var count: Int { state.withLockedValue { $0.channels.count } }
    var isDraining: Bool { state.withLockedValue { $0.draining } }

    /// Stops admitting, asks every WebSocket to close with 1001 and closes HTTP
    /// connections (idle keep-alives would otherwise hold the drain open).
    func startDraining() {
        let (webSockets, others) = state.withLockedValue { state in
            state.draining = true
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
