import HawkerProtocol
import NIOConcurrencyHelpers
import NIOCore

/// Order services connected over WebSocket, per merchant, and the deliveries waiting for
/// their `ack`. Several connections of one merchant share the work round-robin; a
/// delivery not acknowledged within the visibility timeout (or whose connection closed)
/// fails back to the relay, which sends it again later under a new delivery id.
public final class OrderServiceRegistry: Sendable {
    private struct Waiter {
        var consumer: ObjectIdentifier
        var merchant: String
        var continuation: CheckedContinuation<BackendResult, Never>
        var timeout: Scheduled<Void>?
    }

    private struct State {
        var consumers: [String: [SessionHandle]] = [:]
        var next: [String: Int] = [:]
        var waiting: [String: Waiter] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// Replays of settled orders carry ids with this prefix; their acks change nothing.
    public static let replayPrefix = "rp_"

    public init() {}

    public func add(_ consumer: SessionHandle, merchant: String) {
        state.withLockedValue { state in
            guard !(state.consumers[merchant] ?? []).contains(where: { $0.id == consumer.id }) else { return }
            state.consumers[merchant, default: []].append(consumer)
        }
    }

    /// The connection closed: what it held goes back to the relay at once.
    public func remove(_ consumer: ObjectIdentifier) {
        let orphaned: [Waiter] = state.withLockedValue { state in
            for merchant in state.consumers.keys {
                state.consumers[merchant]?.removeAll { $0.id == consumer }
                if state.consumers[merchant]?.isEmpty == true { state.consumers[merchant] = nil }
            }
            let ids = state.waiting.filter { $0.value.consumer == consumer }.map(\.key)
            return ids.compactMap { state.waiting.removeValue(forKey: $0) }
        }
        for waiter in orphaned {
            waiter.timeout?.cancel()
            waiter.continuation.resume(returning: .unavailable(error: "the order service disconnected before acknowledging"))
        }
    }

    public func consumerCount(merchant: String) -> Int {
        state.withLockedValue { $0.consumers[merchant]?.count ?? 0 }
    }

    /// Sends `delivery` to one of the merchant's connections and waits for its ack.
    public func deliver(_ delivery: OutboxDelivery, attempt: Int, visibilityTimeout: TimeAmount) async -> BackendResult {
        let deliveryID = "dl_" + RandomID.hex16()
        return await withCheckedContinuation { continuation in
            let consumer: SessionHandle? = state.withLockedValue { state in
                guard let consumers = state.consumers[delivery.merchant], !consumers.isEmpty else { return nil }
                let index = (state.next[delivery.merchant] ?? 0) % consumers.count
                state.next[delivery.merchant] = index + 1
                let consumer = consumers[index]
                state.waiting[deliveryID] = Waiter(consumer: consumer.id, merchant: delivery.merchant, continuation: continuation, timeout: nil)
                return consumer
            }
            guard let consumer else {
                continuation.resume(returning: .unavailable(error: "no order service of merchant '\(delivery.merchant)' is connected"))
                return
            }
            let timeout = consumer.eventLoop.scheduleTask(in: visibilityTimeout) { [self] in
                _ = resolve(deliveryID, with: .unavailable(error: "not acknowledged within \(visibilityTimeout.nanoseconds / 1_000_000) ms"))
            }
            let stillWaiting = state.withLockedValue { state in
                guard state.waiting[deliveryID] != nil else { return false }
                state.waiting[deliveryID]?.timeout = timeout
                return true
            }
            if !stillWaiting { timeout.cancel() }
            var body = delivery.payload
            body["delivery"] = .string(deliveryID)
            body["attempt"] = .int(Int64(attempt))
            body["replay"] = false
            if !delivery.traceContext.isEmpty { body["trace"] = .object(delivery.traceContext.mapValues { .string($0) }) }
            consumer.send(.push(type: .orderRequested, stream: delivery.stream, body: body))
                .whenFailure { [self] _ in resolve(deliveryID, with: .unavailable(error: "could not write to the order service")) }
        }
    }

    /// An `ack` from connection `consumer`; false when the delivery is unknown, expired or
    /// was sent to another connection.
    public func acknowledge(_ deliveryID: String, by consumer: ObjectIdentifier, result: OrderAcknowledgement) -> Bool {
        if deliveryID.hasPrefix(Self.replayPrefix) { return true }
        let owned = state.withLockedValue { $0.waiting[deliveryID]?.consumer == consumer }
        guard owned else { return false }
        switch result {
        case .confirmed(let reference): return resolve(deliveryID, with: .confirmed(reference: reference))
        case .rejected(let reason): return resolve(deliveryID, with: .rejected(reason: reason))
        }
    }

    @discardableResult
    private func resolve(_ deliveryID: String, with result: BackendResult) -> Bool {
        guard let waiter = state.withLockedValue({ $0.waiting.removeValue(forKey: deliveryID) }) else { return false }
        waiter.timeout?.cancel()
        waiter.continuation.resume(returning: result)
        return true
    }
}
