import Foundation
import HawkerCommerce
import HawkerOrders
import HawkerProtocol
import Testing

/// The durable outbox on a real SQLite file in a temporary directory.
@Suite struct SQLiteOutboxTests {
    private func temporaryPath() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-outbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("outbox.sqlite").path
    }

    private func reservation(_ id: String, merchants: [String] = ["m1"], at time: Int64 = 1_000) -> Reservation {
        Reservation(
            checkoutID: id,
            buyer: "buyer-\(id)",
            lines: merchants.enumerated().map { index, merchant in
                .init(product: "p\(index)", variant: nil, quantity: 1, unitPrice: 100, currency: "EUR", merchant: merchant, sale: nil)
            },
            region: "DE",
            attribution: .init(code: "ana10", stream: "shop", referrer: nil),
            idempotencyKey: "key-\(id)",
            createdAt: time
        )
    }

    @Test func aCartIsSplitPerMerchantAndSurvivesReopening() async throws {
        let path = try temporaryPath()
        do {
            let outbox = try SQLiteOutbox(path: path)
            try await outbox.append(reservation("c1", merchants: ["m1", "m2"]), stream: StreamID("shop")!)
        }
        // A new process on the same file sees it (the commit was durable before append returned).
        let reopened = try SQLiteOutbox(path: path)
        let due = try await reopened.due(now: 1_000, limit: 10)
        #expect(due.map(\.idempotencyKey) == ["c1:m1", "c1:m2"])
        #expect(due.allSatisfy { $0.lines.count == 1 && $0.lines[0].merchant == $0.merchant })
        #expect(due.first?.attribution.code == "ana10")
        #expect(due.first?.region == "DE")
    }

    /// Retention deletes what is settled and old, and nothing else: not a pending or
    /// dead-lettered order, not a checkout one of whose orders is still open, not a
    /// recent notice.
    @Test func pruningDeletesOnlyWhatIsSettledAndOld() async throws {
        let outbox = try SQLiteOutbox(path: try temporaryPath())
        let shop = StreamID("shop")!
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
            #expect(try await outbox.accepted(buyer: "buyer-\(id)", idempotencyKey: "key-\(id)")?.reservation.checkoutID == id)
        }
        #expect(try await outbox.due(now: 10_000, limit: 10).map(\.idempotencyKey).sorted() == ["old-half:m2", "old-pending:m1"])
        #expect(try await outbox.deadLetters(limit: 10).map(\.checkoutID) == ["old-dead"])
        #expect(try await outbox.buyersWithUndeliveredNotices() == ["bo"])
        let again = try await outbox.prune(before: 5_000)
        #expect(again.checkouts == 0 && again.notices == 0, "a second sweep finds nothing")
        // The in-memory key filter follows: pruned keys are new again, the others looked up.
        #expect(!outbox.acceptedKeys.mayContain(buyer: "buyer-old-confirmed", idempotencyKey: "key-old-confirmed"))
        #expect(outbox.acceptedKeys.mayContain(buyer: "buyer-old-pending", idempotencyKey: "key-old-pending"))
    }

    /// Every stored key is in the filter, before and after a restart; new keys are not.
    @Test func theKeyFilterKnowsEveryStoredKey() async throws {
        let path = try temporaryPath()
        do {
            let outbox = try SQLiteOutbox(path: path)
            #expect(!outbox.acceptedKeys.mayContain(buyer: "buyer-c1", idempotencyKey: "key-c1"))
            try await outbox.append(reservation("c1"), stream: StreamID("shop")!)
            #expect(outbox.acceptedKeys.mayContain(buyer: "buyer-c1", idempotencyKey: "key-c1"))
        }
        let reopened = try SQLiteOutbox(path: path)
        #expect(reopened.acceptedKeys.mayContain(buyer: "buyer-c1", idempotencyKey: "key-c1"))
        #expect(!reopened.acceptedKeys.mayContain(buyer: "buyer-c1", idempotencyKey: "key-c2"))
        #expect(!reopened.acceptedKeys.mayContain(buyer: "buyer-c2", idempotencyKey: "key-c1"))
        #expect(reopened.acceptedKeys.count == 1)
    }

    @Test func appendingTheSameCheckoutTwiceChangesNothing() async throws {
        let outbox = try SQLiteOutbox(path: try temporaryPath())
        try await outbox.append(reservation("c1"), stream: StreamID("shop")!)
        try await outbox.append(reservation("c1"), stream: StreamID("shop")!)
        #expect(try await outbox.due(now: 10_000, limit: 10).count == 1)
    }

    /// Appends that arrive while a commit is in flight share the next one.
    @Test func concurrentAppendsAreGroupCommitted() async throws {
        let outbox = try SQLiteOutbox(path: try temporaryPath())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask { try await outbox.append(reservation("c\(index)"), stream: StreamID("shop")!) }
            }
            try await group.waitForAll()
        }
        #expect(await outbox.appended == 200)
        #expect(try await outbox.due(now: 10_000, limit: 1_000).count == 200)
        let commits = await outbox.commits
        #expect(commits >= 1)
        #expect(commits < 200)
    }

    @Test func retriesConfirmationsAndDeadLetters() async throws {
        let outbox = try SQLiteOutbox(path: try temporaryPath())
        try await outbox.append(reservation("c1", merchants: ["m1", "m2"]), stream: StreamID("shop")!)
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
        #expect(try await outbox.redrive(checkoutID: "c1", merchant: "m1", now: 7_000))
        #expect(try await outbox.due(now: 7_000, limit: 10).map(\.merchant) == ["m1"])
        let all = try await outbox.deliveries(of: "c1")
        #expect(all.first { $0.merchant == "m2" }?.reference == "ORD-7")
        #expect(all.first { $0.merchant == "m2" }?.status == .confirmed)
    }

    /// The room forgets idempotency keys on a restart; the outbox does not.
    @Test func aRetryAfterARestartFindsTheFirstCheckout() async throws {
        let path = try temporaryPath()
        do {
            let outbox = try SQLiteOutbox(path: path)
            try await outbox.append(reservation("c1"), stream: StreamID("shop")!)
        }
        var retry = reservation("c2")
        retry.buyer = "buyer-c1"
        retry.idempotencyKey = "key-c1"
        let stored = try await SQLiteOutbox(path: path).append(retry, stream: StreamID("shop")!)
        #expect(stored.checkoutID == "c1")
        #expect(try await SQLiteOutbox(path: path).due(now: 10_000, limit: 10).map(\.checkoutID) == ["c1"])
    }

    @Test func noticesWaitForTheBuyerUntilDelivered() async throws {
        let outbox = try SQLiteOutbox(path: try temporaryPath())
        try await outbox.append(reservation("c1"), stream: StreamID("shop")!)
        let confirmed = OrderNotice(buyer: "ana", checkoutID: "c1", stream: StreamID("shop")!, type: .orderConfirmed, body: ["reference": "R1"], createdAt: 1)
        let id = try #require(try await outbox.record(.confirmed(reference: "R1"), checkoutID: "c1", merchant: "m1", now: 2_000, notice: confirmed))
        try await outbox.addNotice(OrderNotice(buyer: "ana", checkoutID: "c1", stream: StreamID("shop")!, type: .orderStatus, body: ["status": "shipped"], createdAt: 3))
        try await outbox.addNotice(OrderNotice(buyer: "bo", checkoutID: "c9", stream: StreamID("shop")!, type: .orderFailed, body: [:], createdAt: 4))
        let waiting = try await outbox.undeliveredNotices(for: "ana", limit: 10)
        #expect(waiting.map(\.type) == [.orderConfirmed, .orderStatus])
        #expect(waiting.first?.body["reference"] == "R1")
        #expect(waiting.first?.id == id)
        try await outbox.markDelivered([id])
        #expect(try await outbox.undeliveredNotices(for: "ana", limit: 10).map(\.type) == [.orderStatus])
    }

    @Test func anOrderServiceConnectingMakesItsMerchantsDeliveriesDueNow() async throws {
        let outbox = try SQLiteOutbox(path: try temporaryPath())
        try await outbox.append(reservation("c1", merchants: ["m1", "m2"]), stream: StreamID("shop")!)
        try await outbox.record(.retry(at: 90_000, error: "no service"), checkoutID: "c1", merchant: "m1", now: 2_000)
        try await outbox.record(.retry(at: 90_000, error: "no service"), checkoutID: "c1", merchant: "m2", now: 2_000)
        try await outbox.expedite(merchant: "m1", now: 3_000)
        #expect(try await outbox.due(now: 3_000, limit: 10).map(\.merchant) == ["m1"])
        let depth = try await outbox.depth()
        #expect(depth.pending == 2)
        #expect(depth.deadLettered == 0)
    }

    @Test func settledOrdersOfAMerchantCanBeReplayedFromATime() async throws {
        let outbox = try SQLiteOutbox(path: try temporaryPath())
        try await outbox.append(reservation("old", at: 1_000), stream: StreamID("shop")!)
        try await outbox.append(reservation("new", at: 5_000), stream: StreamID("shop")!)
        try await outbox.append(reservation("open", at: 6_000), stream: StreamID("shop")!)
        try await outbox.record(.confirmed(reference: "R1"), checkoutID: "old", merchant: "m1", now: 2_000)
        try await outbox.record(.rejected(reason: "no"), checkoutID: "new", merchant: "m1", now: 6_000)
        #expect(try await outbox.settled(merchant: "m1", since: 4_000, limit: 10).map(\.checkoutID) == ["new"])
        #expect(try await outbox.settled(merchant: "m1", since: 0, limit: 10).map(\.checkoutID) == ["old", "new"])
    }
}
