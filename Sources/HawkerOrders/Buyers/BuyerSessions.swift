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
        /// Past `maxWaiting` buyers the set is dropped and every connection reads the
        /// outbox (an indexed read), until `refresh` finds few enough again.
        var overflowed = false
        /// Buyers marked while a refresh reads the outbox (kept even when overflowed):
        /// their notices may be newer than that read.
        var markedDuringRefresh: Set<String>?
    }

    private let state = NIOLockedValueBox(State())
    let maxWaiting: Int

    init(maxWaiting: Int = 100_000) {
        self.maxWaiting = maxWaiting
    }

    func noticesMayWait(for buyer: String) {
        state.withLockedValue { state in
            state.markedDuringRefresh?.insert(buyer)
            guard !state.overflowed else { return }
            state.waiting.insert(buyer)
            if state.waiting.count > maxWaiting { Self.overflow(&state) }
        }
    }

    func noticesMayWait(for buyers: Set<String>) {
        state.withLockedValue { state in
            state.markedDuringRefresh?.formUnion(buyers)
            guard !state.overflowed else { return }
            state.waiting.formUnion(buyers)
            if state.waiting.count > maxWaiting { Self.overflow(&state) }
        }
    }

    /// Call before reading the outbox's list for `refresh`.
    func beginRefresh() {
        state.withLockedValue { $0.markedDuringRefresh = [] }
    }

    /// Starts over from the outbox's list of buyers with notices waiting (read after
    /// `beginRefresh`), when it is small enough to hold.
    func refresh(waiting buyers: Set<String>) {
        state.withLockedValue { state in
            let waiting = buyers.union(state.markedDuringRefresh ?? [])
            state.markedDuringRefresh = nil
            state.overflowed = waiting.count > maxWaiting
            state.waiting = state.overflowed ? [] : waiting
        }
    }

    func assumeEveryoneWaits() {
        state.withLockedValue { state in
            state.markedDuringRefresh = nil
            Self.overflow(&state)
        }
    }

    private static func overflow(_ state: inout State) {
        state.waiting = []
        state.overflowed = true
    }

    /// Whether the buyer may have notices waiting; forgets it (the caller reads them).
    func takeWaiting(_ buyer: String) -> Bool {
        state.withLockedValue { $0.waiting.remove(buyer) != nil || $0.overflowed }
    }

    var waitingCount: Int { state.withLockedValue { $0.waiting.count } }

    func add(_ session: SessionHandle, buyer: String) {
        state.withLockedValue { $0.sessions[buyer, default: [:]][session.id] = session }
    }

    func remove(_ id: ObjectIdentifier, buyer: String) {
        state.withLockedValue { state in
            state.sessions[buyer]?[id] = nil
            if state.sessions[buyer]?.isEmpty == true { state.sessions[buyer] = nil }
        }
    }

    /// Whether the session is still open: checked right before each write, since a send
    /// to a session that closed (and, at shutdown, to its stopped loop) goes nowhere.
    func contains(_ id: ObjectIdentifier, buyer: String) -> Bool {
        state.withLockedValue { $0.sessions[buyer]?[id] != nil }
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
