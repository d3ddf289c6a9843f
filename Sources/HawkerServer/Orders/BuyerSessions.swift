import HawkerOrders
import HawkerProtocol
import NIOConcurrencyHelpers
import NIOCore

/// The live sessions of each signed-in buyer, so that order results reach every tab and
/// phone the buyer has open. Touched on connect, disconnect and order results only (not
/// on the fan-out path), hence a lock.
final class BuyerSessions: Sendable {
    private let sessions = NIOLockedValueBox<[String: [ObjectIdentifier: SessionHandle]]>([:])
    /// Buyers who may have notices waiting in the outbox: only their connections read it
    /// (a connect storm of everyone else costs no database read).
    private let waiting = NIOLockedValueBox<Set<String>>([])

    func noticesMayWait(for buyer: String) {
        waiting.withLockedValue { _ = $0.insert(buyer) }
    }

    func noticesMayWait(for buyers: Set<String>) {
        waiting.withLockedValue { $0.formUnion(buyers) }
    }

    /// Whether the buyer may have notices waiting; forgets it (the caller reads them).
    func takeWaiting(_ buyer: String) -> Bool {
        waiting.withLockedValue { $0.remove(buyer) != nil }
    }

    func add(_ session: SessionHandle, buyer: String) {
        sessions.withLockedValue { $0[buyer, default: [:]][session.id] = session }
    }

    func remove(_ id: ObjectIdentifier, buyer: String) {
        sessions.withLockedValue { sessions in
            sessions[buyer]?[id] = nil
            if sessions[buyer]?.isEmpty == true { sessions[buyer] = nil }
        }
    }

    func sessions(of buyer: String) -> [SessionHandle] {
        sessions.withLockedValue { Array(($0[buyer] ?? [:]).values) }
    }

    var buyerCount: Int { sessions.withLockedValue { $0.count } }
}

extension OrderNotice {
    /// The push a buyer's session receives.
    var message: ServerMessage {
        .push(type: type, stream: StreamID(stream) ?? StreamID("unknown")!, body: body)
    }
}
