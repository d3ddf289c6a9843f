import ServiceLifecycle

/// Where one merchant's orders go: a webhook, a database, order services connected over
/// WebSocket, or the demo. Every implementation receives each delivery at least once and
/// must treat `delivery.idempotencyKey` as the order's identity (a repeat is not a
/// second order, and gets the first order's reference).
public protocol OrderBackend: Sendable {
    /// A short name for logs, metrics and the circuit breaker ("webhook:acme", "demo").
    var name: String { get }
    func deliver(_ delivery: OutboxDelivery) async -> BackendResult
    /// Something that must run while the backend is used (a connection pool), if any.
    var service: (any Service)? { get }
    /// False while this process cannot reach the merchant at all (none of its order
    /// services is connected here): in a cluster, another node's relay takes its orders.
    var isReachableHere: Bool { get }
}

extension OrderBackend {
    public var service: (any Service)? { nil }
    public var isReachableHere: Bool { true }
}

/// What a backend said about one delivery.
public enum BackendResult: Sendable, Hashable {
    /// The merchant has the order; `reference` is its order number.
    case confirmed(reference: String)
    /// The merchant refuses it for good (no retry): out of stock on its side, bad region...
    case rejected(reason: String)
    /// It did not get through (connection refused, timeout, 5xx): try again later.
    case unavailable(error: String)
}

/// A backend that could not be set up or did not answer.
public struct OrderBackendError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}
