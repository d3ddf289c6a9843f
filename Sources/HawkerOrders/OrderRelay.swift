import HawkerCommerce
import ServiceLifecycle
import Synchronization
import Tracing

/// Reads due deliveries from the outbox and hands each to its merchant's backend, at
/// least once: retries with exponential backoff and jitter, a circuit breaker per
/// backend, dead letters after `RetryPolicy`'s attempts or age.
///
/// On a shared outbox (a cluster) every node runs one: each claims what it delivers, so
/// that two relays do not call a backend for the same order at once; a dead node's claims
/// lapse after `claimMilliseconds` and the others take its orders. A merchant whose order
/// services are connected to another node is left to that node's relay.
public actor OrderRelay: Service {
    /// Which backend serves which merchant of record.
    public struct Routes: Sendable {
        public var byMerchant: [String: any OrderBackend]
        /// For merchants without their own entry; nil dead-letters their orders.
        public var fallback: (any OrderBackend)?

        public init(byMerchant: [String: any OrderBackend] = [:], fallback: (any OrderBackend)? = nil) {
            self.byMerchant = byMerchant
            self.fallback = fallback
        }

        func backend(for merchant: String) -> (any OrderBackend)? {
            byMerchant[merchant] ?? fallback
        }
    }

    /// What one pass did.
    public struct PassReport: Sendable, Hashable {
        public var confirmed = 0
        public var rejected = 0
        public var retried = 0
        public var deadLettered = 0
        /// Left for later because their backend's circuit was open.
        public var postponed = 0

        public init() {}
    }

    private let outbox: any Outbox
    private let claimMilliseconds: Int64
    /// Changed at run time from outside the actor (`route`), read at each pass.
    private nonisolated let routes: Mutex<Routes>
    /// Up to when (milliseconds since the Unix epoch) the routes are known to hold every
    /// merchant registered anywhere: on a shared outbox another node may have registered a
    /// merchant this one has not read yet. A delivery made after it, of a merchant with no
    /// route of its own, waits rather than going to the fallback.
    private nonisolated let routesCurrentAsOf = Atomic<Int64>(.max)
    /// How long such a delivery waits at most (milliseconds since it was made): a registry
    /// that cannot be read does not hold orders until they are given up on.
    private nonisolated let routesWaitAtMost = Atomic<Int64>(.max)
    private let policy: RetryPolicy
    private let batchSize: Int
    private let maxInFlight: Int
    private let pollInterval: Duration
    private let clock: @Sendable () -> Int64
    private let jitter: @Sendable () -> Double
    private let onOutcome: @Sendable (OutboxDelivery, DeliveryOutcome, OrderNotice?) async -> Void
    private let tracing: OrderTracing
    private var breakers: [String: CircuitBreaker] = [:]
    private let breakerTemplate: CircuitBreaker
    /// Deliveries handed to a backend and not answered yet (by idempotency key): a slow
    /// backend holds only its own deliveries, never the relay.
    private var inFlight: Set<String> = []

    /// - Parameters:
    ///   - maxInFlight: deliveries out at once, over every backend.
    ///   - clock: milliseconds since the Unix epoch; injected for tests.
    ///   - jitter: a number in 0..<1 per retry; injected for tests.
    ///   - onOutcome: told of every recorded outcome with the buyer's stored notice (to
    ///     tell the buyer's live sessions, release stock...).
    ///   - claimMilliseconds: how long a claimed delivery is this relay's (on a shared
    ///     outbox): longer than any backend's timeout.
    ///   - tracing: each attempt is a `hawker.order.deliver` span in its checkout's trace.
    public init(
        outbox: any Outbox,
        routes: Routes,
        policy: RetryPolicy = RetryPolicy(),
        breaker: CircuitBreaker = CircuitBreaker(),
        batchSize: Int = 100,
        maxInFlight: Int = 256,
        pollInterval: Duration = .milliseconds(100),
        claimMilliseconds: Int64 = 60_000,
        clock: @escaping @Sendable () -> Int64,
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        onOutcome: @escaping @Sendable (OutboxDelivery, DeliveryOutcome, OrderNotice?) async -> Void = { _, _, _ in },
        tracing: OrderTracing = .off
    ) {
        self.outbox = outbox
        self.routes = Mutex(routes)
        self.policy = policy
        self.breakerTemplate = breaker
        self.batchSize = max(1, batchSize)
        self.maxInFlight = max(1, maxInFlight)
        self.pollInterval = pollInterval
        self.claimMilliseconds = max(1, claimMilliseconds)
        self.clock = clock
        self.jitter = jitter
        self.onOutcome = onOutcome
        self.tracing = tracing
    }

    /// Sends `merchant`'s orders to `backend` from the next pass on (nil: the fallback):
    /// a merchant registered or changed at run time. Deliveries out already finish on the
    /// backend they went to.
    public nonisolated func route(_ merchant: String, to backend: (any OrderBackend)?) {
        routes.withLock { $0.byMerchant[merchant] = backend }
    }

    /// The routes hold every merchant registered up to `time` (a read of the registry that
    /// began then has been applied).
    public nonisolated func routesAreCurrent(asOf time: Int64) {
        routesCurrentAsOf.store(time, ordering: .relaxed)
    }

    /// A delivery waits for the registry at most `milliseconds` after it was made.
    public nonisolated func waitForRoutes(atMost milliseconds: Int64) {
        routesWaitAtMost.store(milliseconds, ordering: .relaxed)
    }

    /// Hands due deliveries to their backends as they come due, without waiting for
    /// slow ones, until shutdown. Deliveries still out at shutdown stay pending in the
    /// outbox and go again after a restart (at least once).
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                var report = PassReport()
                let calls = (try? await prepare(report: &report)) ?? []
                for (delivery, backend) in calls {
                    group.addTask {
                        let result = await self.attempt(delivery, with: backend)
                        await self.complete(delivery, backend: backend.name, result: result)
                    }
                }
                // A full batch means more is due: go on at once. Postponed ones (an open
                // circuit) wait for the next poll.
                if calls.count + report.deadLettered < batchSize || inFlight.count >= maxInFlight {
                    try? await Task.sleep(for: pollInterval)
                }
            }
            group.cancelAll()
        }
    }

    /// Delivers what is due now, concurrently per delivery, and records every outcome
    /// before it returns (deterministic: for tests and tools).
    public func pass() async throws -> PassReport {
        var report = PassReport()
        let calls = try await prepare(report: &report)
        let results = await withTaskGroup(of: (OutboxDelivery, String, BackendResult).self) { group in
            for (delivery, backend) in calls {
                group.addTask { (delivery, backend.name, await self.attempt(delivery, with: backend)) }
            }
            var results: [(OutboxDelivery, String, BackendResult)] = []
            for await result in group { results.append(result) }
            return results
        }
        for (delivery, backendName, result) in results {
            try await complete(delivery, backend: backendName, result: result, report: &report)
        }
        return report
    }

    /// One attempt, traced as a span of the delivery's checkout when tracing is on; the
    /// backend is handed the attempt's context to pass on to the merchant.
    private nonisolated func attempt(_ delivery: OutboxDelivery, with backend: any OrderBackend) async -> BackendResult {
        // Only a traced checkout's attempts are spans; the others (tracing off here, or a
        // checkout from before it was on, or not sampled) pass on no context at all.
        guard !delivery.traceContext.isEmpty, let span = tracing.start(OrderTracing.SpanName.deliver, kind: .client, continuing: delivery.traceContext)
        else {
            var untraced = delivery
            untraced.traceContext = [:]
            return await backend.deliver(untraced)
        }
        span.updateAttributes { attributes in
            attributes[OrderTracing.Attribute.checkoutID] = delivery.checkoutID
            attributes[OrderTracing.Attribute.merchant] = delivery.merchant
            attributes[OrderTracing.Attribute.backend] = backend.name
            attributes[OrderTracing.Attribute.attempt] = delivery.attempts + 1
        }
        var handed = delivery
        handed.traceContext = tracing.carrier(for: span)
        let result = await backend.deliver(handed)
        switch result {
        case .confirmed(let reference):
            span.attributes[OrderTracing.Attribute.orderOutcome] = "confirmed"
            span.attributes[OrderTracing.Attribute.reference] = reference
        case .rejected(let reason):
            // The merchant answered: a refusal is an outcome, not a failure of the call.
            span.attributes[OrderTracing.Attribute.orderOutcome] = "rejected"
            span.attributes[OrderTracing.Attribute.reason] = reason
        case .unavailable(let error):
            span.attributes[OrderTracing.Attribute.orderOutcome] = "unavailable"
            span.setStatus(SpanStatus(code: .error, message: error))
        }
        span.end()
        return result
    }

    /// Due deliveries that may go out now, marked in flight; settles on the way those
    /// that are given up on or whose backend's circuit is open.
    private func prepare(report: inout PassReport) async throws -> [(OutboxDelivery, any OrderBackend)] {
        let room = maxInFlight - inFlight.count
        guard room > 0 else { return [] }
        let now = clock()
        var calls: [(OutboxDelivery, any OrderBackend)] = []
        var postponed: [Int64: [(checkoutID: String, party: Party)]] = [:]
        defer { report.postponed += postponed.values.reduce(0) { $0 + $1.count } }
        // On a shared outbox, merchants this node cannot reach now are another node's,
        // until their orders are old enough to be given up on (by whoever claims them).
        let unreachable = outbox.isShared ? routes.withLock { Set($0.byMerchant.filter { !$0.value.isReachableHere }.keys) } : []
        let cutoff = now.subtractingReportingOverflow(policy.maxAgeMilliseconds)
        var claimed = try await outbox.claim(
            now: now, limit: min(batchSize, room), claimMilliseconds: claimMilliseconds, excluding: inFlight, skipping: unreachable,
            skippingUnlessBefore: cutoff.overflow ? .min : cutoff.partialValue
        )
        // Buyers' requests to sellers go the same way, in the room orders left.
        if claimed.count < min(batchSize, room) {
            claimed += try await outbox.claimRequests(
                now: now, limit: min(batchSize, room) - claimed.count, claimMilliseconds: claimMilliseconds, excluding: inFlight, skipping: unreachable,
                skippingUnlessBefore: cutoff.overflow ? .min : cutoff.partialValue)
        }
        var postponedRequests: [(OutboxDelivery, until: Int64)] = []
        for delivery in claimed {
            guard calls.count < room, !inFlight.contains(delivery.idempotencyKey) else { continue }
            // A write that fails here leaves the delivery pending and claimed: it comes
            // again once the claim lapses. Nothing is marked in flight before it.
            if policy.exhausted(attempts: delivery.attempts, createdAt: delivery.ageFrom, now: now) {
                let why = delivery.attempts >= policy.maxAttempts ? "gave up after \(delivery.attempts) attempts" : "gave up: not delivered within \(policy.maxAgeMilliseconds) ms"
                if (try? await record(.deadLetter(reason: "\(why): \(delivery.lastError ?? "no answer")"), for: delivery, now: now, attempted: false)) != nil {
                    report.deadLettered += 1
                }
                continue
            }
            let (own, fallback) = routes.withLock { ($0.byMerchant[delivery.merchant], $0.fallback) }
            // (From when it became due: a shipment released long after its checkout too.)
            if own == nil, delivery.ageFrom >= routesCurrentAsOf.load(ordering: .relaxed),
                now.subtractingReportingOverflow(delivery.ageFrom).partialValue < routesWaitAtMost.load(ordering: .relaxed)
            {
                // Maybe a merchant registered on another node a moment ago: not the fallback yet.
                if delivery.request != nil {
                    postponedRequests.append((delivery, now + 1_000))
                } else {
                    postponed[now + 1_000, default: []].append((delivery.checkoutID, delivery.party))
                }
                continue
            }
            guard let backend = own ?? fallback else {
                // Not attempted: nothing was sent anywhere.
                if (try? await record(.deadLetter(reason: "no order backend is configured for merchant '\(delivery.merchant)'"), for: delivery, now: now, attempted: false))
                    != nil
                {
                    report.deadLettered += 1
                }
                continue
            }
            var breaker = breakers[backend.name] ?? breakerTemplate
            let allowed = breaker.allows(now: now)
            breakers[backend.name] = breaker
            guard allowed else {
                // Open: after the cooldown. Half-open (the trial is out): a little later.
                let until: Int64 = if case .open(let until) = breaker.state { until } else { now + max(100, breaker.cooldownMilliseconds / 10) }
                if delivery.request != nil {
                    postponedRequests.append((delivery, until))
                } else {
                    postponed[until, default: []].append((delivery.checkoutID, delivery.party))
                }
                continue
            }
            inFlight.insert(delivery.idempotencyKey)
            calls.append((delivery, backend))
        }
        for (until, deliveries) in postponed {
            // Not written: they come again once their claims lapse.
            try? await outbox.postpone(deliveries, until: until, now: now)
        }
        for (delivery, until) in postponedRequests {
            // A retry not counted as an attempt: its next one moves, its claim ends.
            guard let request = delivery.request else { continue }
            _ = try? await outbox.recordRequest(
                .retry(at: until, error: delivery.lastError ?? "postponed"), checkoutID: delivery.checkoutID, merchant: delivery.merchant, id: request.id,
                now: now, attempted: false, notice: nil)
        }
        report.postponed += postponedRequests.count
        return calls
    }

    private func complete(_ delivery: OutboxDelivery, backend backendName: String, result: BackendResult) async {
        var report = PassReport()
        // A failed write leaves the delivery pending: it goes again (at least once).
        try? await complete(delivery, backend: backendName, result: result, report: &report)
    }

    private func complete(_ delivery: OutboxDelivery, backend backendName: String, result: BackendResult, report: inout PassReport) async throws {
        defer { inFlight.remove(delivery.idempotencyKey) }
        let finished = clock()
        switch result {
        case .confirmed(let reference):
            breakers[backendName]?.succeeded()
            try await record(.confirmed(reference: reference), for: delivery, now: finished)
            report.confirmed += 1
        case .rejected(let reason) where delivery.isShipment:
            // A supplier refusing a shipment the seller sold: nobody ships the buyer's order.
            // Given up on, so that an operator sees it among the dead letters (and re-drives
            // it once the supplier is sorted out), not a quiet outcome.
            breakers[backendName]?.succeeded()
            try await record(.deadLetter(reason: PartReversal.refusedBySupplier + reason), for: delivery, now: finished)
            report.deadLettered += 1
        case .rejected(let reason):
            // The backend answered: it is up.
            breakers[backendName]?.succeeded()
            try await record(.rejected(reason: reason), for: delivery, now: finished)
            report.rejected += 1
        case .unavailable(let error):
            breakers[backendName]?.failed(now: finished)
            let attempts = delivery.attempts + 1
            if policy.exhausted(attempts: attempts, createdAt: delivery.ageFrom, now: finished) {
                try await record(.deadLetter(reason: "gave up after \(attempts) attempts: \(error)"), for: delivery, now: finished)
                report.deadLettered += 1
            } else {
                let at = finished + policy.delay(afterAttempts: attempts, unit: jitter())
                try await record(.retry(at: at, error: error), for: delivery, now: finished)
                report.retried += 1
            }
        }
    }

    public func breaker(for backend: String) -> CircuitBreaker? { breakers[backend] }

    /// Closes a backend's circuit (its order service just connected).
    public func resetBreaker(for backend: String) {
        breakers[backend] = nil
    }

    public var deliveriesInFlight: Int { inFlight.count }

    private func record(_ outcome: DeliveryOutcome, for delivery: OutboxDelivery, now: Int64, attempted: Bool = true) async throws {
        var notice = OrderNotice.outcome(outcome, of: delivery, at: now)
        let recorded =
            if let request = delivery.request {
                try await outbox.recordRequest(
                    outcome, checkoutID: delivery.checkoutID, merchant: delivery.merchant, id: request.id, now: now, attempted: attempted, notice: notice)
            } else {
                try await outbox.record(outcome, checkoutID: delivery.checkoutID, party: delivery.party, now: now, attempted: attempted, notice: notice)
            }
        // Another relay recorded this delivery's outcome first (this one's claim had
        // lapsed): its outcome stands, and it told the buyer.
        guard recorded.applied else { return }
        notice?.id = recorded.noticeID
        await onOutcome(delivery, outcome, notice)
    }
}
