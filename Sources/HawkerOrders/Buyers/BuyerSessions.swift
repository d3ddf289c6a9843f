import HawkerProtocol
import NIOConcurrencyHelpers
import NIOCore

/// The live sessions of each signed-in buyer, so that order results reach every tab and
/// phone the buyer has open. Touched on connect, disconnect and order results only (not
/// on the fan-out path), hence a lock: one, around everything it keeps.
final class BuyerSessions: Sendable {
    private struct State {
        var sessions: [String: [ObjectIdentifier: SessionHandle]] = [:]
        /// Buyers who may have notices waiting in the outbox: only their connections read
        /// it (a connect storm of everyone else costs no database read).
        var waiting: Set<String> = []
    }

    private let state = NIOLockedValueBox(State())

    func noticesMayWait(for buyer: String) {
        state.withLockedValue { _ = $0.waiting.insert(buyer) }
    }

    func noticesMayWait(for buyers: Set<String>) {
        state.withLockedValue { $0.waiting.formUnion(buyers) }
    }

    /// Whether the buyer may have notices waiting; forgets it (the caller reads them).
    func takeWaiting(_ buyer: String) -> Bool {
        state.withLockedValue { $0.waiting.remove(buyer) != nil }
    }

    func add(_ session: SessionHandle, buyer: String) {
        state.withLockedValue { $0.sessions[buyer, default: [:]][session.id] = session }
    }

    func remove(_ id: ObjectIdentifier, buyer: String) {
        state.withLockedValue { state in
            state.sessions[buyer]?[id] = nil
            if state.sessions[buyer]?.isEmpty == true { state.sessions[buyer] = nil }
        }
    }

    func sessions(of buyer: String) -> [SessionHandle] {
        state.withLockedValue { Array(($0.sessions[buyer] ?? [:]).values) }
    }

    var buyerCount: Int { state.withLockedValue { $0.sessions.count } }
}

extension OrderNotice {
    /// The push a buyer's session receives.
    public var message: ServerMessage {
        .push(type: type, stream: stream, body: body)
    }
}
