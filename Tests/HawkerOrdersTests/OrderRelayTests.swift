import Foundation
import HawkerCommerce
import HawkerOrders
import HawkerProtocol
import InMemoryTracing
import NIOConcurrencyHelpers
import Testing
import Tracing

/// A backend that answers from a script and remembers what it was sent.
final class ScriptedBackend: OrderBackend {
    let name: String
    private let script: NIOLockedValueBox<[BackendResult]>
    private let received = NIOLockedValueBox<[OutboxDelivery]>([])

    init(_ name: String, _ script: [BackendResult] = []) {
        self.name = name
        self.script = NIOLockedValueBox(script)
    }

    /// Answers in order; `confirmed` once the script is used up.
    func deliver(_ delivery: OutboxDelivery) async -> BackendResult {
        received.withLockedValue { $0.append(delivery) }
        return script.withLockedValue { $0.isEmpty ? .confirmed(reference: "\(name)-\(delivery.checkoutID)") : $0.removeFirst() }
    }

    var calls: [OutboxDelivery] { received.withLockedValue { $0 } }

    /// Answers these next.
    func script(_ results: BackendResult...) {
        script.withLockedValue { $0 += results }
    }
}

@Suite struct OrderRelayTests {
    private let clock = NIOLockedValueBox<Int64>(1_000_000)

    private func outbox() throws -> SQLiteOutbox {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-relay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try SQLiteOutbox(path: directory.appendingPathComponent("outbox.sqlite").path)
    }

    private func cart(_ id: String, merchants: [String]) -> Reservation {
        Reservation(
            checkoutID: id, buyer: "buyer",
            lines: merchants.enumerated().map { .init(product: "p\($0.offset)", variant: nil, quantity: 1, unitPrice: 100, currency: "EUR", merchant: $0.element, sale: nil) },
            region: "DE", attribution: .init(code: "ana10"), idempotencyKey: "k-\(id)", createdAt: clock.withLockedValue { $0 }
        )
    }

    private func relay(
        _ outbox: SQLiteOutbox, _ routes: OrderRelay.Routes, policy: RetryPolicy = RetryPolicy(), breaker: CircuitBreaker = CircuitBreaker(), outcomes: NIOLockedValueBox<[String]>? = nil
    ) -> OrderRelay {
        let clock = self.clock
        return OrderRelay(
            outbox: outbox, routes: routes, policy: policy, breaker: breaker,
            clock: { clock.withLockedValue { $0 } }, jitter: { 0.5 },
            onOutcome: { delivery, outcome, _ in outcomes?.withLockedValue { $0.append("\(delivery.idempotencyKey) \(outcome)") } }
        )
    }

    private func advance(_ milliseconds: Int64) { clock.withLockedValue { $0 += milliseconds } }

    /// A backend is handed the attempt's own context for a traced checkout, and none at all
    /// when this relay does not trace (a stored context is not passed on as it is) or the
    /// checkout was not traced.
    @Test func backendsGetTheAttemptsTraceContextOrNone() async throws {
        let stored = ["traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]
        let clock = self.clock
        for tracing in [OrderTracing.off, OrderTracing(tracer: InMemoryTracer())] {
            let store = try outbox()
            let backend = ScriptedBackend("m1")
            let relay = OrderRelay(outbox: store, routes: .init(fallback: backend), clock: { clock.withLockedValue { $0 } }, tracing: tracing)
            try await store.append(cart("traced", merchants: ["m1"]), stream: StreamID("shop")!, trace: stored)
            try await store.append(cart("untraced", merchants: ["m1"]), stream: StreamID("shop")!)
            #expect(try await relay.pass().confirmed == 2)
            let handed = Dictionary(uniqueKeysWithValues: backend.calls.map { ($0.checkoutID, $0.traceContext) })
            #expect(handed["untraced"] == [:])
            if tracing.tracer == nil {
                #expect(handed["traced"] == [:])
            } else {
                let tracer = try #require(tracing.tracer as? InMemoryTracer)
                let deliver = try #require(tracer.finishedSpans.first)
                #expect(tracer.finishedSpans.count == 1, "only the traced checkout's attempt is a span")
                #expect(handed["traced"]?[InMemoryTracer.spanIDKey] == deliver.spanID)
            }
        }
    }

    /// A seller's sale goes first; its supplier's shipment once the sale is confirmed; a
    /// supplier refusing it is given up on (a dead letter an operator sees), not a quiet
    /// outcome, and the buyer hears nothing of it.
    @Test func aShipmentFollowsItsSaleAndASuppliersRefusalIsADeadLetter() async throws {
        let store = try outbox()
        let seller = ScriptedBackend("seller")
        let supplier = ScriptedBackend("supplier", [.rejected(reason: "no stock at the warehouse")])
        let outcomes = NIOLockedValueBox<[String]>([])
        let relay = relay(store, .init(byMerchant: ["s1": seller, "d1": supplier]), outcomes: outcomes)
        var reservation = cart("c1", merchants: ["s1"])
        reservation.lines[0].supplier = Supplier(merchant: "d1", price: 60)
        try await store.append(reservation, stream: StreamID("shop")!)
        #expect(try await relay.pass().confirmed == 1)
        #expect(seller.calls.map(\.idempotencyKey) == ["c1:s1"])
        #expect(supplier.calls.isEmpty, "held until the sale is confirmed")
        let report = try await relay.pass()
        #expect(report.deadLettered == 1 && report.rejected == 0)
        #expect(supplier.calls.map(\.idempotencyKey) == ["c1:d1/for/s1"])
        let letter = try #require(try await store.deadLetters(limit: 10).first)
        #expect(letter.isShipment && letter.lastError?.contains("refused by the supplier: no stock") == true)
        #expect(outcomes.withLockedValue { $0 }.count == 2)
    }

    @Test func eachMerchantGetsOnlyItsLinesFromItsBackend() async throws {
        let store = try outbox()
        let northwind = ScriptedBackend("northwind")
        let fallback = ScriptedBackend("fallback")
        let outcomes = NIOLockedValueBox<[String]>([])
        let relay = relay(store, .init(byMerchant: ["northwind": northwind], fallback: fallback), outcomes: outcomes)
        try await store.append(cart("c1", merchants: ["northwind", "cobbler"]), stream: StreamID("shop")!)
        let report = try await relay.pass()
        #expect(report.confirmed == 2)
        #expect(northwind.calls.map(\.idempotencyKey) == ["c1:northwind"])
        #expect(northwind.calls.first?.lines.map(\.merchant) == ["northwind"])
        #expect(fallback.calls.map(\.idempotencyKey) == ["c1:cobbler"])
        #expect(fallback.calls.first?.attribution.code == "ana10")
        #expect(try await store.deliveries(of: "c1").map(\.reference).sorted { ($0 ?? "") < ($1 ?? "") } == ["fallback-c1", "northwind-c1"])
        #expect(outcomes.withLockedValue { $0 }.count == 2)
        // Nothing left to do.
        #expect(try await relay.pass() == OrderRelay.PassReport())
    }

    @Test func aBackendThatIsDownForAWhileGetsEverythingOnceItRecovers() async throws {
        let store = try outbox()
        let flaky = ScriptedBackend("flaky", [.unavailable(error: "connection refused"), .unavailable(error: "HTTP 500")])
        let relay = relay(store, .init(fallback: flaky), policy: RetryPolicy(baseDelayMilliseconds: 1_000, maxAttempts: 5))
        try await store.append(cart("c1", merchants: ["m"]), stream: StreamID("shop")!)
        #expect(try await relay.pass().retried == 1)
        // Backoff with jitter 0.5: 500 ms after the first failure, then 1,000 ms.
        #expect(try await relay.pass() == OrderRelay.PassReport())
        advance(500)
        #expect(try await relay.pass().retried == 1)
        advance(999)
        #expect(try await relay.pass() == OrderRelay.PassReport())
        advance(1)
        #expect(try await relay.pass().confirmed == 1)
        let delivery = try #require(try await store.deliveries(of: "c1").first)
        #expect(delivery.status == .confirmed)
        #expect(delivery.attempts == 3)
        #expect(flaky.calls.count == 3)
    }

    @Test func rejectionsAreFinalAndFailuresEndInDeadLetters() async throws {
        let store = try outbox()
        let backend = ScriptedBackend("b", [.rejected(reason: "not deliverable to DE"), .unavailable(error: "timeout"), .unavailable(error: "timeout")])
        let relay = relay(store, .init(fallback: backend), policy: RetryPolicy(baseDelayMilliseconds: 10, maxAttempts: 2), breaker: CircuitBreaker(threshold: 100))
        try await store.append(cart("rejected", merchants: ["m"]), stream: StreamID("shop")!)
        #expect(try await relay.pass().rejected == 1)
        try await store.append(cart("doomed", merchants: ["m"]), stream: StreamID("shop")!)
        #expect(try await relay.pass().retried == 1)
        advance(1_000)
        #expect(try await relay.pass().deadLettered == 1)
        let dead = try await store.deadLetters(limit: 10)
        #expect(dead.map(\.idempotencyKey) == ["doomed:m"])
        #expect(dead.first?.lastError?.contains("timeout") == true)
        #expect(try await store.deliveries(of: "rejected").first?.status == .rejected)
        // Re-driven, it is delivered (the script is used up: confirmed).
        #expect(try await store.redrive(checkoutID: "doomed", merchant: "m", now: clock.withLockedValue { $0 }))
        #expect(try await relay.pass().confirmed == 1)
    }

    @Test func anOpenCircuitStopsCallsUntilItsCooldownPasses() async throws {
        let store = try outbox()
        let down = ScriptedBackend("down", Array(repeating: .unavailable(error: "503"), count: 2))
        let relay = relay(store, .init(fallback: down), policy: RetryPolicy(baseDelayMilliseconds: 1, maxAttempts: 50), breaker: CircuitBreaker(threshold: 2, cooldownMilliseconds: 10_000))
        for index in 0..<2 { try await store.append(cart("c\(index)", merchants: ["m"]), stream: StreamID("shop")!) }
        #expect(try await relay.pass().retried == 2)
        #expect(await relay.breaker(for: "down")?.isOpen == true)
        advance(100)
        // Both are due again, but the circuit is open: no call, postponed to its end.
        #expect(try await relay.pass().postponed == 2)
        #expect(down.calls.count == 2)
        advance(10_000)
        // Half-open: one trial goes out (and succeeds); the other waits for the next pass.
        let trial = try await relay.pass()
        #expect(trial.confirmed == 1)
        #expect(trial.postponed == 1)
        #expect(await relay.breaker(for: "down")?.state == .closed(failures: 0))
        // The other was set back a tenth of the cooldown, so that a slow trial is not
        // raced by a busy loop of postponements.
        #expect(try await relay.pass() == OrderRelay.PassReport())
        advance(1_000)
        #expect(try await relay.pass().confirmed == 1)
    }

    /// A buyer's request goes to its seller's backend like an order: received, declined
    /// at the door, retried and postponed while the backend is down, failed when given
    /// up on; the buyer is told each outcome (never a retry), and no order is settled.
    @Test func buyersRequestsGoToTheSellersBackendLikeOrders() async throws {
        let store = try outbox()
        let backend = ScriptedBackend("m", [.confirmed(reference: "A")])
        let outcomes = NIOLockedValueBox<[String]>([])
        let relay = relay(
            store, .init(byMerchant: ["m": backend]), policy: RetryPolicy(baseDelayMilliseconds: 1, maxAttempts: 3),
            breaker: CircuitBreaker(threshold: 2, cooldownMilliseconds: 10_000), outcomes: outcomes)
        var bought = cart("c1", merchants: ["m"])
        bought.lines[0].quantity = 4
        try await store.append(bought, stream: StreamID("shop")!)
        #expect(try await relay.pass().confirmed == 1)
        func ask(_ id: String) async throws {
            _ = try await store.request(
                OrderRequest(checkoutID: "c1", merchant: "m", id: id, kind: .return, items: [.init(product: "p0", variant: nil, quantity: 1)]), buyer: "buyer",
                now: clock.withLockedValue { $0 }
            ).get()
        }
        try await ask("q1")
        // Received (the script is used up: confirmed), with the order's reference.
        #expect(try await relay.pass().confirmed == 1)
        #expect(backend.calls.last?.request?.id == "q1" && backend.calls.last?.reference == "A")
        #expect(outcomes.withLockedValue { $0 }.last == "c1:m/request/q1 confirmed(reference: \"m-c1\")")
        let notices = try await store.undeliveredNotices(for: "buyer", limit: 10).filter { $0.type == .orderRequestStatus }
        #expect(notices.map { $0.body["status"] } == ["received"])
        #expect(try await store.deliveries(of: "c1").map(\.status) == [.confirmed], "a request settles no order")

        // Declined at the door; then a backend down: retried, postponed while the circuit is open, failed.
        backend.script(.rejected(reason: "no returns on sale items"))
        for _ in 0..<10 { backend.script(.unavailable(error: "503")) }
        try await ask("q2")
        #expect(try await relay.pass().rejected == 1)
        try await ask("q3")
        try await ask("q4")
        #expect(try await relay.pass().retried == 2)
        advance(100)
        #expect(try await relay.pass().postponed == 2)
        #expect(backend.calls.count == 5, "the sale, q1, q2, q3 and q4")
        // Trials as the circuit half-opens, until both are given up on (three attempts).
        for _ in 0..<8 {
            advance(20_000)
            _ = try await relay.pass()
        }
        #expect(backend.calls.count == 9)
        let statuses = try await store.history(of: "buyer", after: nil, limit: 1).orders.first?.parts.first?.requests.map(\.status)
        #expect(statuses == [.received, .declined, .failed, .failed])
        let told = try await store.undeliveredNotices(for: "buyer", limit: 20).filter { $0.type == .orderRequestStatus }.map { $0.body["status"] }
        #expect(told == ["received", "declined", "failed", "failed"])
    }

    @Test func ordersOfAMerchantWithoutABackendAreDeadLettered() async throws {
        let store = try outbox()
        let relay = relay(store, .init())
        try await store.append(cart("c1", merchants: ["nobody"]), stream: StreamID("shop")!)
        #expect(try await relay.pass().deadLettered == 1)
        #expect(try await store.deadLetters(limit: 10).first?.lastError?.contains("no order backend") == true)
    }

    /// On a shared outbox a merchant registered on another node a moment ago has no route
    /// here yet: its orders wait for the registry's next read instead of going to the
    /// fallback (a dead letter, or the demo's confirmation); a merchant routed here, or
    /// an order older than the read, goes as before. A route set at run time is used at once.
    @Test func ordersOfMerchantsNotReadYetWaitForTheRegistry() async throws {
        let store = try outbox()
        let fallback = ScriptedBackend("fallback")
        let known = ScriptedBackend("known")
        let relay = relay(store, .init(byMerchant: ["known": known], fallback: fallback))
        relay.routesAreCurrent(asOf: 0)
        try await store.append(cart("c1", merchants: ["known", "new"]), stream: StreamID("shop")!)
        var report = try await relay.pass()
        #expect(report.confirmed == 1 && report.postponed == 1)
        #expect(fallback.calls.isEmpty)
        // Read meanwhile: the new merchant registered elsewhere has its own backend now.
        let registered = ScriptedBackend("new")
        relay.route("new", to: registered)
        advance(1_000)
        report = try await relay.pass()
        #expect(report.confirmed == 1)
        #expect(registered.calls.map(\.idempotencyKey) == ["c1:new"])
        // A merchant nobody registered: once the registry was read after its order, the fallback.
        try await store.append(cart("c2", merchants: ["nobody"]), stream: StreamID("shop")!)
        #expect(try await relay.pass().postponed == 1)
        relay.routesAreCurrent(asOf: clock.withLockedValue { $0 } + 1)
        advance(1_000)
        #expect(try await relay.pass().confirmed == 1)
        #expect(fallback.calls.map(\.idempotencyKey) == ["c2:nobody"])
        // A registry that cannot be read holds orders a while, not until they are given up on.
        relay.routesAreCurrent(asOf: 0)
        relay.waitForRoutes(atMost: 5_000)
        try await store.append(cart("c3", merchants: ["nobody"]), stream: StreamID("shop")!)
        #expect(try await relay.pass().postponed == 1)
        advance(5_000)
        #expect(try await relay.pass().confirmed == 1)
        #expect(fallback.calls.map(\.idempotencyKey) == ["c2:nobody", "c3:nobody"])
    }

    @Test func retryDelaysGrowAndAreCapped() {
        let policy = RetryPolicy(baseDelayMilliseconds: 500, maxDelayMilliseconds: 60_000)
        #expect(policy.delay(afterAttempts: 1, unit: 1) == 500)
        #expect(policy.delay(afterAttempts: 2, unit: 1) == 1_000)
        #expect(policy.delay(afterAttempts: 5, unit: 1) == 8_000)
        #expect(policy.delay(afterAttempts: 40, unit: 1) == 60_000)
        #expect(policy.delay(afterAttempts: 3, unit: 0.25) == 500)
        #expect(policy.delay(afterAttempts: 3, unit: 0) == 1)
    }

    /// A delivery given up on for its age counts no attempt, and a re-drive gives it a
    /// fresh age: it goes out instead of dying again at once.
    @Test func aReDriveRestartsTheAgeLimit() async throws {
        let store = try outbox()
        let backend = ScriptedBackend("m", [.unavailable(error: "503")])
        let relay = relay(store, .init(fallback: backend), policy: RetryPolicy(baseDelayMilliseconds: 1, maxAttempts: 50, maxAgeMilliseconds: 1_000))
        try await store.append(cart("c1", merchants: ["m"]), stream: StreamID("shop")!)
        #expect(try await relay.pass().retried == 1)
        advance(5_000)
        #expect(try await relay.pass().deadLettered == 1)
        let dead = try #require(try await store.deadLetters(limit: 10).first)
        #expect(dead.attempts == 1)
        #expect(dead.lastError?.contains("not delivered within 1000 ms") == true)
        #expect(try await store.redrive(checkoutID: "c1", merchant: "m", now: clock.withLockedValue { $0 }))
        #expect(try await relay.pass().confirmed == 1)
        #expect(backend.calls.count == 2)
    }
}
