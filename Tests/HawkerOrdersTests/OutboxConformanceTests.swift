import Foundation
import HawkerCommerce
import HawkerOrders
import HawkerProtocol
import Logging
import Testing

/// What every `Outbox` does, run against each: the SQLite file of a single gateway and
/// the PostgreSQL outbox a cluster shares (when HAWKER_TEST_POSTGRES_URL names a server;
/// scripts/test.sh starts one, and CI fails without it). "Another instance" is a reopened
/// file for SQLite and another node's client for PostgreSQL.
@Suite struct OutboxConformanceTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case sqlite, postgres
        var testDescription: String { rawValue }
    }

    static let postgresURL = ProcessInfo.processInfo.environment["HAWKER_TEST_POSTGRES_URL"]
    static let kinds: [Kind] = Kind.allCases.filter { $0 != .postgres || postgresURL != nil }

    @Test func postgresIsThereInCI() {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(Self.postgresURL != nil, "scripts/test.sh must export HAWKER_TEST_POSTGRES_URL in CI")
        }
    }

    /// Runs `body` with a way to open instances of one fresh outbox of `kind`.
    func withOutbox<T: Sendable>(_ kind: Kind, _ body: (_ open: () throws -> any Outbox) async throws -> T) async throws -> T {
        switch kind {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-outbox-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("outbox.sqlite").path
            return try await body { try SQLiteOutbox(path: path) }
        case .postgres:
            let url = try #require(Self.postgresURL)
            // A schema of its own per test: the tests run in parallel on one server.
            let schema = "outbox_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            return try await withThrowingTaskGroup(of: Void.self) { group in
                let result = try await body {
                    var logger = Logger(label: "hawker.test.outbox")
                    logger.logLevel = .warning
                    // Few connections: the suites run in parallel in one process.
                    let outbox = try PostgresOutbox(url: url, schema: schema, maximumConnections: 2, logger: logger)
                    group.addTask { try await outbox.run() }
                    return outbox
                }
                group.cancelAll()
                return result
            }
        }
    }

    private func reservation(_ id: String, merchants: [String] = ["m1"], at time: Int64 = 1_000) -> Reservation {
        outboxReservation(id, merchants: merchants, at: time)
    }

    var shop: StreamID { StreamID("shop")! }

    private func claim(
        _ outbox: any Outbox, now: Int64, limit: Int = 100, for milliseconds: Int64 = 1_000, skipping: Set<String> = [], unlessBefore: Int64 = .min
    )
        async throws -> [String]
    {
        try await outbox.claim(now: now, limit: limit, claimMilliseconds: milliseconds, excluding: [], skipping: skipping, skippingUnlessBefore: unlessBefore)
            .map(\.idempotencyKey)
    }

    @Test(arguments: kinds) func aCartIsSplitPerMerchantAndAnotherInstanceSeesIt(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            try await open().append(reservation("c1", merchants: ["m1", "m2"]), stream: shop)
            // Durable before append returned: another process sees it.
            let due = try await open().due(now: 1_000, limit: 10)
            #expect(due.map(\.idempotencyKey).sorted() == ["c1:m1", "c1:m2"])
            #expect(due.allSatisfy { $0.lines.count == 1 && $0.lines[0].merchant == $0.merchant })
            #expect(due.first?.attribution.code == "ana10")
            #expect(due.first?.region == "DE")
            #expect(due.first?.stream == shop)
            #expect(due.first?.buyer == "buyer-c1")
        }
    }

    /// A traced checkout's context comes back with each of its deliveries, from any
    /// instance (a retry after a restart, or by another node, continues the trace); one
    /// appended without a context reads back without one.
    @Test(arguments: kinds) func aCheckoutsTraceContextComesBackWithItsDeliveries(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let context = ["traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "tracestate": "vendor=1"]
            try await open().append(reservation("c1", merchants: ["m1", "m2"]), stream: shop, trace: context)
            try await open().append(reservation("c2"), stream: shop)
            let due = try await open().due(now: 1_000, limit: 10)
            #expect(due.filter { $0.checkoutID == "c1" }.map(\.traceContext) == [context, context])
            #expect(due.first { $0.checkoutID == "c2" }?.traceContext == [:])
            let claimed = try await open().claim(now: 1_000, limit: 10, claimMilliseconds: 1_000, excluding: [], skipping: [], skippingUnlessBefore: .min)
            #expect(claimed.first { $0.checkoutID == "c1" }?.traceContext == context)
            // The reservation reads back as it was, context or not.
            #expect(try await open().accepted(buyer: "buyer-c1", idempotencyKey: reservation("c1").idempotencyKey)?.reservation == reservation("c1", merchants: ["m1", "m2"]))
        }
    }

    /// A checkout whose lines credit Anna (m1's two lines) and the host (m2's line).
    func credited(_ id: String, at time: Int64) -> Reservation {
        var reservation = reservation(id, merchants: ["m1", "m2"], at: time)
        reservation.lines = [
            .init(
                product: "tee", variant: nil, quantity: 2, unitPrice: 1_000, currency: "EUR", merchant: "m1", sale: nil,
                credit: LineCredit(code: "ANNA10", influencer: "anna", commission: 200, source: .referral)),
            .init(
                product: "cap", variant: "red", quantity: 1, unitPrice: 500, currency: "EUR", merchant: "m1", sale: nil,
                credit: LineCredit(code: "ANNA10", influencer: "anna", commission: 50, source: .referral)),
            .init(
                product: "shoe", variant: nil, quantity: 1, unitPrice: 3_000, currency: "EUR", merchant: "m2", sale: nil,
                credit: LineCredit(code: "HOST3", influencer: "host", commission: 90, source: .host)),
            .init(product: "sock", variant: nil, quantity: 1, unitPrice: 300, currency: "EUR", merchant: "m2", sale: nil),
        ]
        return reservation
    }

    /// Every credited line is kept with its checkout and follows its merchant's order:
    /// pending, confirmed or failed, pending again when re-driven; a replayed append adds
    /// nothing, pruning settled orders keeps it, and another instance reads the same.
    @Test(arguments: kinds) func creditedLinesFollowTheirOrdersAndOutliveThePrune(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(credited("c1", at: 60_000), stream: shop)
            try await outbox.append(credited("c1", at: 60_000), stream: shop)
            try await outbox.append(credited("c2", at: 130_000), stream: StreamID("later")!)
            try await outbox.append(reservation("c3", at: 130_000), stream: shop)
            var report = try await open().earnings(of: "anna", since: 0, until: 1_000_000, bucketMilliseconds: 60_000)
            #expect(
                report.groups == [
                    .init(stream: "later", code: "ANNA10", product: "cap", currency: "EUR", status: .pending, quantity: 1, amount: 500, commission: 50),
                    .init(stream: "later", code: "ANNA10", product: "tee", currency: "EUR", status: .pending, quantity: 2, amount: 2_000, commission: 200),
                    .init(stream: "shop", code: "ANNA10", product: "cap", currency: "EUR", status: .pending, quantity: 1, amount: 500, commission: 50),
                    .init(stream: "shop", code: "ANNA10", product: "tee", currency: "EUR", status: .pending, quantity: 2, amount: 2_000, commission: 200),
                ])
            #expect(
                report.tallies == [
                    .init(stream: "later", code: "ANNA10", checkouts: 1, confirmedOrders: 0, failedOrders: 0),
                    .init(stream: "shop", code: "ANNA10", checkouts: 1, confirmedOrders: 0, failedOrders: 0),
                ])
            #expect(
                report.timeline == [
                    .init(stream: "shop", currency: "EUR", status: .pending, start: 60_000, quantity: 3, amount: 2_500, commission: 250),
                    .init(stream: "later", currency: "EUR", status: .pending, start: 120_000, quantity: 3, amount: 2_500, commission: 250),
                ])
            #expect(report.truncated == false)
            #expect(report.totals == [.init(currency: "EUR", status: .pending, quantity: 6, amount: 5_000, commission: 500)])

            // m1 confirms c1; c2's m1 order is rejected; the host's line follows m2.
            try await outbox.record(.confirmed(reference: "R1"), checkoutID: "c1", merchant: "m1", now: 70_000)
            try await outbox.record(.retry(at: 80_000, error: "503"), checkoutID: "c2", merchant: "m1", now: 70_000)
            try await outbox.record(.deadLetter(reason: "gave up"), checkoutID: "c2", merchant: "m1", now: 71_000)
            try await outbox.record(.confirmed(reference: "R2"), checkoutID: "c1", merchant: "m2", now: 70_000)
            report = try await outbox.earnings(of: "anna", since: 0, until: 1_000_000, bucketMilliseconds: 60_000)
            #expect(
                report.tallies == [
                    .init(stream: "later", code: "ANNA10", checkouts: 1, confirmedOrders: 0, failedOrders: 1),
                    .init(stream: "shop", code: "ANNA10", checkouts: 1, confirmedOrders: 1, failedOrders: 0),
                ])
            #expect(Set(report.groups.map(\.status)) == [.confirmed, .failed])
            #expect(try await outbox.earnings(of: "host", since: 0, until: 1_000_000, bucketMilliseconds: 60_000).groups.map(\.status) == [.pending, .confirmed])

            // Re-driven: pending again, until its new outcome.
            #expect(try await outbox.redrive(checkoutID: "c2", merchant: "m1", now: 90_000))
            report = try await outbox.earnings(of: "anna", since: 100_000, until: 1_000_000, bucketMilliseconds: 3_600_000)
            #expect(report.groups.map(\.status) == [.pending, .pending])
            #expect(report.timeline.map(\.start) == [0])
            try await outbox.record(.confirmed(reference: "R3"), checkoutID: "c2", merchant: "m1", now: 95_000)

            // Settled orders go; what they earned stays.
            try await outbox.prune(before: 10_000_000)
            #expect(try await outbox.deliveries(of: "c1").isEmpty)
            report = try await open().earnings(of: "anna", since: 0, until: 1_000_000, bucketMilliseconds: 60_000)
            #expect(report.groups.allSatisfy { $0.status == .confirmed })
            #expect(report.totals == [.init(currency: "EUR", status: .confirmed, quantity: 6, amount: 5_000, commission: 500)])
            #expect(report.groups.map(\.commission).reduce(0, +) == 500)
            #expect(try await outbox.earnings(of: "nobody", since: 0, until: .max, bucketMilliseconds: 1) == EarningsReport())
        }
    }

    /// A merchant takes back units of a confirmed order, once per return id: the
    /// influencer's commission on them moves from confirmed to returned in the same
    /// commit, a retry returns what was recorded, and no more than was bought comes back.
    @Test(arguments: kinds) func returnsTakeUnitsAndTheirCommissionBackOncePerReturn(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(credited("c1", at: 60_000), stream: shop)
            func reverse(
                _ id: String, kind: PartReversal.Kind = .returned, merchant: String = "m1", _ items: [PartReversal.Item]?, restock: Bool = true
            ) async throws
                -> Result<ReversalRecord, PartReversal.Refusal>
            {
                try await outbox.reverse(PartReversal(checkoutID: "c1", merchant: merchant, id: id, kind: kind, items: items, restock: restock), now: 80_000)
            }
            // Only a confirmed order, of that merchant.
            #expect(try await reverse("R1", [.init(product: "tee", variant: nil, quantity: 1)]) == .failure(.notConfirmed))
            #expect(try await reverse("R1", merchant: "m9", nil) == .failure(.unknownPart))
            try await outbox.record(.confirmed(reference: "A"), checkoutID: "c1", merchant: "m1", now: 70_000)

            // One tee of two back: half its commission.
            let first = try await reverse("R1", [.init(product: "tee", variant: nil, quantity: 1)]).get()
            #expect(first.units == [0: 1] && first.restockDue && !first.replayed)
            #expect(first.buyer == "buyer-c1" && first.stream == shop && first.lines.count == 4)
            var report = try await open().earnings(of: "anna", since: 0, until: 1_000_000, bucketMilliseconds: 60_000)
            #expect(
                report.totals == [
                    .init(currency: "EUR", status: .confirmed, quantity: 2, amount: 1_500, commission: 150),
                    .init(currency: "EUR", status: .returned, quantity: 1, amount: 1_000, commission: 100),
                ])
            // The same return again: what was recorded, stock still due until put back.
            // The buyer's notice was stored with it, once.
            let notice = try #require(first.notice)
            #expect(notice.id != nil && notice.type == .orderStatus && notice.buyer == "buyer-c1")
            #expect(notice.body["items"] == [["product": "tee", "qty": 1]])
            #expect(try await outbox.undeliveredNotices(for: "buyer-c1", limit: 10).map(\.id) == [notice.id])
            #expect(try await reverse("R1", [.init(product: "tee", variant: nil, quantity: 1)]).get() == first.with(replayed: true))
            // The id again for other units, or another restock: refused, not answered as done.
            guard case .failure(.invalid) = try await reverse("R1", [.init(product: "tee", variant: nil, quantity: 2)]) else {
                Issue.record("a used return_id took other units")
                return
            }
            guard case .failure(.invalid) = try await reverse("R1", nil, restock: false) else {
                Issue.record("a used return_id took another restock")
                return
            }
            // Marked once: a second request racing the first finds it marked.
            #expect(try await outbox.markRestocked(checkoutID: "c1", merchant: "m1", id: "R1", restocked: true))
            #expect(try await outbox.markRestocked(checkoutID: "c1", merchant: "m1", id: "R1", restocked: true) == false)
            #expect(try await reverse("R1", nil).get().restockDue == false)
            #expect(try await outbox.markRestocked(checkoutID: "c1", merchant: "m1", id: "R1", restocked: false))
            #expect(try await reverse("R1", nil).get().restockDue == true)
            // No more than is left; nothing of another merchant or not in the order.
            guard case .failure(.invalid) = try await reverse("R2", [.init(product: "tee", variant: nil, quantity: 2)]) else {
                Issue.record("took back more tees than were left")
                return
            }
            guard case .failure(.invalid) = try await reverse("R2", [.init(product: "shoe", variant: nil, quantity: 1)]) else {
                Issue.record("took back another merchant's line")
                return
            }
            // Cancelled: all that is left (a tee and the red cap).
            let rest = try await reverse("cancelled", kind: .cancelled, nil, restock: false).get()
            #expect(rest.units == [0: 1, 1: 1] && !rest.restockDue)
            report = try await outbox.earnings(of: "anna", since: 0, until: 1_000_000, bucketMilliseconds: 60_000)
            #expect(report.totals == [.init(currency: "EUR", status: .returned, quantity: 3, amount: 2_500, commission: 250)])
            guard case .failure(.invalid) = try await reverse("R3", nil) else {
                Issue.record("took back an order with nothing left")
                return
            }
            // A later outcome of the part (none should come) leaves returned lines returned.
            #expect(try await outbox.redrive(checkoutID: "c1", merchant: "m1", now: 90_000) == false)
            // Settled and old (the whole checkout: m2's part too): pruned with their order.
            try await outbox.record(.confirmed(reference: "M2"), checkoutID: "c1", merchant: "m2", now: 90_000)
            try await outbox.prune(before: 10_000_000)
            #expect(try await reverse("R1", nil) == .failure(.unknownPart))
            #expect(try await outbox.earnings(of: "anna", since: 0, until: 1_000_000, bucketMilliseconds: 60_000).totals == report.totals)
        }
    }

    @Test(arguments: kinds) func appendingTheSameCheckoutTwiceChangesNothing(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(reservation("c1"), stream: shop)
            try await outbox.append(reservation("c1"), stream: shop)
            #expect(try await outbox.due(now: 10_000, limit: 10).count == 1)
        }
    }

    /// A retry with the same key finds the first checkout, from any instance.
    @Test(arguments: kinds) func aRetryElsewhereFindsTheFirstCheckout(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            try await open().append(reservation("c1"), stream: shop)
            var retry = reservation("c2")
            retry.buyer = "buyer-c1"
            retry.idempotencyKey = "key-c1"
            let other = try open()
            #expect(other.mayHaveAccepted(buyer: "buyer-c1", idempotencyKey: "key-c1"))
            #expect(try await other.accepted(buyer: "buyer-c1", idempotencyKey: "key-c1")?.reservation.checkoutID == "c1")
            #expect(try await other.accepted(buyer: "buyer-c1", idempotencyKey: "key-c9") == nil)
            let stored = try await other.append(retry, stream: shop)
            #expect(stored.checkoutID == "c1")
            #expect(try await other.due(now: 10_000, limit: 10).map(\.checkoutID) == ["c1"])
        }
    }

    /// Many checkouts with one buyer and key at once, from two instances: one is stored,
    /// and every append answers with it.
    @Test(arguments: kinds) func concurrentAppendsOfOneKeyStoreOneCheckout(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            // One process writes a SQLite file: its instance is shared.
            let first = try open()
            let instances = kind == .sqlite ? [first, first] : [first, try open()]
            let stored = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<20 {
                    var attempt = reservation("c\(index)")
                    attempt.buyer = "ana"
                    attempt.idempotencyKey = "same"
                    let (outbox, cart, stream) = (instances[index % 2], attempt, shop)
                    group.addTask { try await outbox.append(cart, stream: stream).checkoutID }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(stored.count == 1)
            #expect(try await instances[0].due(now: 10_000, limit: 100).map(\.checkoutID) == Array(stored))
        }
    }

    @Test(arguments: kinds) func retriesConfirmationsAndDeadLetters(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(reservation("c1", merchants: ["m1", "m2"]), stream: shop)
            try await outbox.record(.retry(at: 5_000, error: "503"), checkoutID: "c1", merchant: "m1", now: 1_000)
            try await outbox.record(.confirmed(reference: "ORD-7"), checkoutID: "c1", merchant: "m2", now: 1_000)
            #expect(try await outbox.due(now: 4_999, limit: 10).isEmpty)
            let retry = try #require(try await outbox.due(now: 5_000, limit: 10).first)
            #expect(retry.merchant == "m1")
            #expect(retry.attempts == 1)
            #expect(retry.lastError == "503")
            try await outbox.record(.deadLetter(reason: "gave up after 10 attempts"), checkoutID: "c1", merchant: "m1", now: 6_000)
            #expect(try await outbox.due(now: 100_000, limit: 10).isEmpty)
            #expect(try await outbox.deadLetters(limit: 10).map(\.idempotencyKey) == ["c1:m1"])
            let depth = try await outbox.depth()
            #expect(depth.pending == 0 && depth.deadLettered == 1)
            #expect(try await outbox.redrive(checkoutID: "c1", merchant: "m1", now: 7_000))
            #expect(try await outbox.redrive(checkoutID: "c1", merchant: "m1", now: 7_000) == false, "only a dead letter is re-driven")
            let redriven = try await outbox.due(now: 7_000, limit: 10)
            #expect(redriven.map(\.merchant) == ["m1"])
            #expect(redriven.first?.redrivenAt == 7_000)
            #expect(redriven.first?.attempts == 0)
            let all = try await outbox.deliveries(of: "c1")
            #expect(all.first { $0.merchant == "m2" }?.reference == "ORD-7")
            #expect(all.first { $0.merchant == "m2" }?.status == .confirmed)
        }
    }

    /// A settled delivery takes no second outcome: a relay whose claim lapsed while
    /// another one delivered records nothing, and no second notice.
    @Test(arguments: kinds) func onlyAPendingDeliveryTakesAnOutcome(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(reservation("c1"), stream: shop)
            let notice = OrderNotice(buyer: "buyer-c1", checkoutID: "c1", stream: shop, type: .orderConfirmed, body: ["reference": "R1"], createdAt: 2_000)
            let first = try await outbox.record(.confirmed(reference: "R1"), checkoutID: "c1", merchant: "m1", now: 2_000, notice: notice)
            #expect(first.applied)
            #expect(first.noticeID != nil)
            let late = try await open().record(.retry(at: 9_000, error: "timeout"), checkoutID: "c1", merchant: "m1", now: 3_000, notice: notice)
            #expect(!late.applied)
            #expect(late.noticeID == nil)
            #expect(try await outbox.deliveries(of: "c1").first?.status == .confirmed)
            #expect(try await outbox.undeliveredNotices(for: "buyer-c1", limit: 10).count == 1)
        }
    }

    /// Claims keep relays off each other's deliveries until an outcome or until they lapse
    /// (the claiming node died).
    @Test(arguments: kinds) func claimsKeepRelaysOffEachOthersDeliveries(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let first = try open()
            // Relays of a SQLite file are in one process: they share its instance.
            let second = kind == .sqlite ? first : try open()
            for (index, id) in ["c1", "c2", "c3"].enumerated() {
                try await first.append(reservation(id, at: 1_000 + Int64(index)), stream: shop)
            }
            #expect(try await claim(first, now: 5_000, limit: 2) == ["c1:m1", "c2:m1"])
            #expect(try await claim(second, now: 5_000) == ["c3:m1"])
            #expect(try await claim(second, now: 5_999).isEmpty, "claimed until 6,000")
            // An outcome ends a claim: a retry comes due again for whoever claims it.
            try await first.record(.retry(at: 5_500, error: "503"), checkoutID: "c1", merchant: "m1", now: 5_100)
            #expect(try await claim(second, now: 5_600) == ["c1:m1"])
            // Lapsed: the rest go again.
            #expect(try await claim(second, now: 6_000) == ["c2:m1", "c3:m1"])
            // Postponed (an open circuit): the claim ends with it.
            try await second.postpone([(checkoutID: "c2", merchant: "m1")], until: 7_000, now: 6_100)
            #expect(try await claim(first, now: 7_000).contains("c2:m1"))
            #expect(try await first.due(now: 10_000, limit: 10).count == 3, "claims change no status")
        }
    }

    /// A relay whose claim lapsed (its backend call outlasted it) while another relay took
    /// the delivery can neither reschedule nor dead-letter it; the merchant's own answer
    /// stands whoever asked. Only a shared outbox has relays in other processes.
    @Test(arguments: kinds.filter { $0 != .sqlite }) func aLapsedClaimCannotRescheduleAnotherRelaysDelivery(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let (slow, other) = (try open(), try open())
            try await slow.append(reservation("c1"), stream: shop)
            try await slow.append(reservation("c2"), stream: shop)
            #expect(try await claim(slow, now: 5_000) == ["c1:m1", "c2:m1"])
            #expect(try await claim(other, now: 6_000) == ["c1:m1", "c2:m1"], "lapsed")
            #expect(try await slow.record(.retry(at: 9_000, error: "timeout"), checkoutID: "c1", merchant: "m1", now: 6_100).applied == false)
            #expect(try await slow.record(.deadLetter(reason: "gave up"), checkoutID: "c1", merchant: "m1", now: 6_100).applied == false)
            try await slow.postpone([(checkoutID: "c1", merchant: "m1")], until: 60_000, now: 6_100)
            #expect(try await claim(slow, now: 6_500).isEmpty, "still the other relay's")
            #expect(try await slow.record(.confirmed(reference: "R2"), checkoutID: "c2", merchant: "m1", now: 6_200).applied)
            #expect(try await other.record(.confirmed(reference: "R2"), checkoutID: "c2", merchant: "m1", now: 6_300).applied == false)
            #expect(try await other.record(.retry(at: 7_000, error: "503"), checkoutID: "c1", merchant: "m1", now: 6_300).applied)
            #expect(try await other.due(now: 7_000, limit: 10).map(\.checkoutID) == ["c1"])
        }
    }

    /// A merchant this node cannot reach is left to the others, until its orders are old
    /// enough to be given up on.
    @Test(arguments: kinds) func claimsSkipUnreachableMerchantsUntilTheyAreOld(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(reservation("old", merchants: ["svc"], at: 1_000), stream: shop)
            try await outbox.append(reservation("new", merchants: ["svc", "m1"], at: 5_000), stream: shop)
            #expect(try await claim(outbox, now: 6_000, for: 10_000, skipping: ["svc"], unlessBefore: 2_000) == ["old:svc", "new:m1"])
            #expect(try await claim(outbox, now: 8_000, skipping: ["svc"], unlessBefore: 2_000).isEmpty)
            #expect(try await claim(outbox, now: 8_000).sorted() == ["new:svc"])
        }
    }

    /// Retention deletes what is settled and old, and nothing else: not a pending or
    /// dead-lettered order, not a checkout one of whose orders is still open, not a
    /// recent notice.
    @Test(arguments: kinds) func pruningDeletesOnlyWhatIsSettledAndOld(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            for id in ["old-confirmed", "old-rejected", "old-pending", "old-dead", "new-confirmed"] {
                try await outbox.append(reservation(id, at: 1_000), stream: shop)
            }
            try await outbox.append(reservation("old-half", merchants: ["m1", "m2"], at: 1_000), stream: shop)
            try await outbox.record(.confirmed(reference: "R"), checkoutID: "old-confirmed", merchant: "m1", now: 2_000)
            try await outbox.record(.rejected(reason: "no"), checkoutID: "old-rejected", merchant: "m1", now: 2_000)
            try await outbox.record(.deadLetter(reason: "gone"), checkoutID: "old-dead", merchant: "m1", now: 2_000)
            try await outbox.record(.confirmed(reference: "R"), checkoutID: "old-half", merchant: "m1", now: 2_000)
            try await outbox.record(.confirmed(reference: "R"), checkoutID: "new-confirmed", merchant: "m1", now: 9_000)
            try await outbox.addNotice(OrderNotice(buyer: "ana", checkoutID: "old-confirmed", stream: shop, type: .orderConfirmed, body: [:], createdAt: 2_000))
            try await outbox.addNotice(OrderNotice(buyer: "bo", checkoutID: "new-confirmed", stream: shop, type: .orderConfirmed, body: [:], createdAt: 9_000))

            let pruned = try await outbox.prune(before: 5_000)
            #expect(pruned.checkouts == 2 && pruned.notices == 1)
            // The pruned checkouts' keys are forgotten; every other key still answers.
            #expect(try await outbox.accepted(buyer: "buyer-old-confirmed", idempotencyKey: "key-old-confirmed") == nil)
            #expect(try await outbox.accepted(buyer: "buyer-old-rejected", idempotencyKey: "key-old-rejected") == nil)
            for id in ["old-pending", "old-dead", "new-confirmed", "old-half"] {
                #expect(outbox.mayHaveAccepted(buyer: "buyer-\(id)", idempotencyKey: "key-\(id)"))
                #expect(try await outbox.accepted(buyer: "buyer-\(id)", idempotencyKey: "key-\(id)")?.reservation.checkoutID == id)
            }
            #expect(try await outbox.due(now: 10_000, limit: 10).map(\.idempotencyKey).sorted() == ["old-half:m2", "old-pending:m1"])
            #expect(try await outbox.deadLetters(limit: 10).map(\.checkoutID) == ["old-dead"])
            // A half-settled checkout keeps its settled part too: its history shows the whole order.
            #expect(try await outbox.deliveries(of: "old-half").map(\.status) == [.confirmed, .pending])
            #expect(try await outbox.buyersWithUndeliveredNotices(limit: 10) == ["bo"])
            let again = try await outbox.prune(before: 5_000)
            #expect(again.checkouts == 0 && again.notices == 0, "a second sweep finds nothing")
        }
    }

    @Test(arguments: kinds) func noticesWaitForTheBuyerUntilDelivered(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(reservation("c1"), stream: shop)
            let confirmed = OrderNotice(buyer: "ana", checkoutID: "c1", stream: shop, type: .orderConfirmed, body: ["reference": "R1"], createdAt: 1)
            let id = try #require(try await outbox.record(.confirmed(reference: "R1"), checkoutID: "c1", merchant: "m1", now: 2_000, notice: confirmed).noticeID)
            try await outbox.addNotice(OrderNotice(buyer: "ana", checkoutID: "c1", stream: shop, type: .orderStatus, body: ["status": "shipped"], createdAt: 3))
            try await outbox.addNotice(OrderNotice(buyer: "bo", checkoutID: "c9", stream: shop, type: .orderFailed, body: [:], createdAt: 4))
            #expect(try await outbox.buyersWithUndeliveredNotices(limit: 10) == ["ana", "bo"])
            #expect(try await outbox.buyersWithUndeliveredNotices(limit: 1).count == 1, "bounded")
            let waiting = try await open().undeliveredNotices(for: "ana", limit: 10)
            #expect(waiting.map(\.type) == [.orderConfirmed, .orderStatus])
            #expect(waiting.first?.body["reference"] == "R1")
            #expect(waiting.first?.id == id)
            #expect(waiting.first?.checkoutID == "c1")
            #expect(try await outbox.undeliveredNotices(for: "ana", limit: 1).count == 1)
            try await outbox.markDelivered([id])
            #expect(try await outbox.undeliveredNotices(for: "ana", limit: 10).map(\.type) == [.orderStatus])
        }
    }

    /// A buyer's history: their checkouts newest first, page by page, each part with its
    /// outcome and its merchant's latest status update; nobody else's.
    @Test(arguments: kinds) func aBuyersHistoryShowsTheirOrdersNewestFirstWithTheirParts(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            func mine(_ id: String, at time: Int64, merchants: [String] = ["m1"]) -> Reservation {
                var reservation = reservation(id, merchants: merchants, at: time)
                reservation.buyer = "ana"
                return reservation
            }
            try await outbox.append(mine("c1", at: 1_000, merchants: ["m1", "m2"]), stream: shop)
            try await outbox.append(mine("c2", at: 2_000), stream: shop)
            try await outbox.append(mine("c3", at: 2_000), stream: shop)
            try await outbox.append(reservation("other", at: 3_000), stream: shop)
            try await outbox.record(.confirmed(reference: "R1"), checkoutID: "c1", merchant: "m1", now: 1_500)
            try await outbox.record(.rejected(reason: "no"), checkoutID: "c1", merchant: "m2", now: 1_500)
            for (status, tracking) in [("packed", nil), ("shipped", "DHL 123")] as [(String, String?)] {
                var body: [String: JSONValue] = ["checkout_id": "c1", "merchant": "m1", "status": .string(status), "at": 1_600]
                if let tracking { body["tracking"] = .string(tracking) }
                try await outbox.addNotice(OrderNotice(buyer: "ana", checkoutID: "c1", stream: shop, type: .orderStatus, body: body, createdAt: 1_600))
            }

            let all = try await open().history(of: "ana", after: nil, limit: 10).orders
            #expect(all.map(\.reservation.checkoutID) == ["c3", "c2", "c1"])
            let first = try #require(all.last)
            #expect(first.parts.map(\.merchant) == ["m1", "m2"])
            #expect(first.parts.map(\.status) == [.confirmed, .rejected])
            #expect(first.parts[0].reference == "R1")
            #expect(first.parts[0].fulfilment?["status"] == "shipped")
            #expect(first.parts[0].fulfilment?["tracking"] == "DHL 123")
            #expect(first.parts[1].fulfilment == nil)
            #expect(first.status == "partly_failed")
            #expect(all[0].status == "pending")
            #expect(all[0].stream == shop)
            // Page by page, after the last one seen; an unknown or foreign cursor reads nothing.
            let page = try await outbox.history(of: "ana", after: nil, limit: 2)
            #expect(page.orders.map(\.reservation.checkoutID) == ["c3", "c2"])
            #expect(page.nextAfter == "c2", "a full page goes on after its last row")
            let rest = try await outbox.history(of: "ana", after: "c2", limit: 2)
            #expect(rest.orders.map(\.reservation.checkoutID) == ["c1"])
            #expect(rest.nextAfter == nil)
            #expect(try await outbox.history(of: "ana", after: "other", limit: 2).orders.isEmpty)
            #expect(try await outbox.history(of: "nobody", after: nil, limit: 10).orders.isEmpty)
        }
    }

    @Test(arguments: kinds) func anOrderServiceConnectingMakesItsMerchantsDeliveriesDueNow(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(reservation("c1", merchants: ["m1", "m2"]), stream: shop)
            try await outbox.record(.retry(at: 90_000, error: "no service"), checkoutID: "c1", merchant: "m1", now: 2_000)
            try await outbox.record(.retry(at: 90_000, error: "no service"), checkoutID: "c1", merchant: "m2", now: 2_000)
            try await outbox.expedite(merchant: "m1", now: 3_000)
            #expect(try await outbox.due(now: 3_000, limit: 10).map(\.merchant) == ["m1"])
            let depth = try await outbox.depth()
            #expect(depth.pending == 2 && depth.deadLettered == 0)
        }
    }

    @Test(arguments: kinds) func settledOrdersOfAMerchantCanBeReplayedFromATime(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(reservation("old", at: 1_000), stream: shop)
            try await outbox.append(reservation("new", at: 5_000), stream: shop)
            try await outbox.append(reservation("open", at: 6_000), stream: shop)
            try await outbox.record(.confirmed(reference: "R1"), checkoutID: "old", merchant: "m1", now: 2_000)
            try await outbox.record(.rejected(reason: "no"), checkoutID: "new", merchant: "m1", now: 6_000)
            #expect(try await outbox.settled(merchant: "m1", since: 4_000, limit: 10).map(\.checkoutID) == ["new"])
            #expect(try await outbox.settled(merchant: "m1", since: 0, limit: 10).map(\.checkoutID) == ["old", "new"])
        }
    }

    /// What a restarted gateway reads back for its rooms: checkouts made or settled since a
    /// time, and those still on their way, with each part's state.
    @Test(arguments: kinds) func checkoutsTouchedSinceATime(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(reservation("settled-long-ago", at: 1_000), stream: shop)
            try await outbox.append(reservation("on-its-way", at: 1_000), stream: shop)
            try await outbox.append(reservation("settled-lately", merchants: ["m1", "m2"], at: 1_000), stream: shop)
            try await outbox.append(reservation("new", at: 6_000), stream: shop)
            try await outbox.record(.confirmed(reference: "R"), checkoutID: "settled-long-ago", merchant: "m1", now: 2_000)
            try await outbox.record(.rejected(reason: "no"), checkoutID: "settled-lately", merchant: "m1", now: 6_000)
            try await outbox.record(.confirmed(reference: "R"), checkoutID: "settled-lately", merchant: "m2", now: 6_000)
            let stored = try await outbox.checkouts(touchedSince: 5_000, limit: 10)
            #expect(Set(stored.map(\.reservation.checkoutID)) == ["on-its-way", "settled-lately", "new"])
            let lately = try #require(stored.first { $0.reservation.checkoutID == "settled-lately" })
            #expect(lately.parts.map(\.merchant) == ["m1", "m2"])
            #expect(lately.parts.map(\.status) == [.rejected, .confirmed])
            #expect(lately.stream == shop)
            #expect(try await outbox.checkouts(touchedSince: 5_000, limit: 1).map(\.reservation.checkoutID) == ["new"], "the newest first when capped")
        }
    }
}

extension ReversalRecord {
    fileprivate func with(replayed: Bool) -> ReversalRecord {
        var copy = self
        copy.replayed = replayed
        copy.notice = nil
        return copy
    }
}
