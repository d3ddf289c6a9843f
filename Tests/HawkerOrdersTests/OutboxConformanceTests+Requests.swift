import HawkerCommerce
import HawkerOrders
import HawkerProtocol
import Testing

/// Buyers' cancel and return requests, in every outbox: checked against the buyer's own
/// confirmed order in the transaction that stores them, claimed and answered like orders,
/// accepted in the commit of the reversal that takes their units back.
extension OutboxConformanceTests {
    private func ask(
        _ outbox: any Outbox, _ id: String, _ kind: OrderRequest.Kind = .return, _ items: [PartReversal.Item]? = nil, merchant: String = "m1",
        buyer: String = "buyer-c1", at now: Int64 = 80_000
    ) async throws -> Result<BuyerRequest.Placed, BuyerRequest.Refusal> {
        try await outbox.request(
            OrderRequest(checkoutID: "c1", merchant: merchant, id: id, kind: kind, items: items, reason: "changed my mind"), buyer: buyer, now: now)
    }

    private func tees(_ quantity: Int64) -> [PartReversal.Item] { [.init(product: "tee", variant: nil, quantity: quantity)] }

    private func claimRequests(_ outbox: any Outbox, now: Int64) async throws -> [OutboxDelivery] {
        try await outbox.claimRequests(now: now, limit: 100, claimMilliseconds: 1_000, excluding: [], skipping: [], skippingUnlessBefore: .min)
    }

    private func requests(_ outbox: any Outbox, of merchant: String = "m1") async throws -> [BuyerRequest] {
        try await outbox.history(of: "buyer-c1", after: nil, limit: 10).orders.first?.parts.first { $0.merchant == merchant }?.requests ?? []
    }

    @Test(arguments: kinds) func aRequestIsTheBuyersOwnOfAConfirmedOrderAndItsUnitsLeft(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(credited("c1", at: 60_000), stream: shop)
            // Somebody else's order is no order; another merchant's part none either.
            #expect(try await ask(outbox, "q1", buyer: "mallory") == .failure(.unknownOrder))
            #expect(try await ask(outbox, "q1", merchant: "m9") == .failure(.unknownPart))
            #expect(try await ask(outbox, "q1", .cancel) == .failure(.notConfirmed))
            #expect(try await mayRequest(outbox) == [])
            try await outbox.record(.confirmed(reference: "A"), checkoutID: "c1", merchant: "m1", now: 70_000)
            #expect(try await mayRequest(outbox) == ["cancel", "return"])

            let first = try await ask(outbox, "q1", .cancel, tees(1)).get()
            #expect(!first.replayed && first.request.status == .pending && first.request.units == [0: 1])
            #expect(first.request.items == tees(1) && first.request.reason == "changed my mind")
            // A retry is the same request; the id again for other units is refused.
            #expect(
                try await open().request(OrderRequest(checkoutID: "c1", merchant: "m1", id: "q1", kind: .cancel, items: tees(1)), buyer: "buyer-c1", now: 90_000)
                    == .success(BuyerRequest.Placed(request: first.request, replayed: true)))
            #expect(try await ask(outbox, "q1", .cancel, tees(2)) == .failure(.idInUse))
            #expect(try await ask(outbox, "q1", .return, tees(1)) == .failure(.idInUse))
            // Units asked for by an open request are spoken for.
            guard case .failure(.invalid) = try await ask(outbox, "q2", .return, tees(2)) else {
                Issue.record("asked for more tees than were left")
                return
            }
            guard case .failure(.invalid) = try await ask(outbox, "q2", .return, [.init(product: "shoe", variant: nil, quantity: 1)]) else {
                Issue.record("asked the seller for another seller's line")
                return
            }
            let rest = try await ask(outbox, "q2").get()
            #expect(rest.request.units == [0: 1, 1: 1], "every unit not asked for yet: a tee and the red cap")
            #expect(rest.request.items == [.init(product: "tee", variant: nil, quantity: 1), .init(product: "cap", variant: "red", quantity: 1)])
            guard case .failure(.invalid) = try await ask(outbox, "q3") else {
                Issue.record("asked for an order with every unit asked for")
                return
            }
            // In the buyer's history, oldest first, on the seller's part.
            #expect(try await requests(open()).map(\.id) == ["q1", "q2"])
            #expect(try await requests(outbox).map(\.status) == [.pending, .pending])
            #expect(try await mayRequest(outbox) == [], "every unit is asked for")
        }
    }

    /// What the history says the buyer may ask of m1's part now.
    private func mayRequest(_ outbox: any Outbox) async throws -> [String]? {
        let order = try await outbox.history(of: "buyer-c1", after: nil, limit: 10).orders.first?.json
        return order?["parts"]?.arrayValue?.first { $0["merchant"] == "m1" }?["may_request"]?.arrayValue?.compactMap(\.stringValue)
    }

    /// A return id the merchant used before is no acceptance of a request that shares it:
    /// refused, not answered as a retry that changed nothing.
    @Test(arguments: kinds) func acceptingARequestUnderAUsedReturnIdIsRefused(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(credited("c1", at: 60_000), stream: shop)
            try await outbox.record(.confirmed(reference: "A"), checkoutID: "c1", merchant: "m1", now: 70_000)
            _ = try await outbox.reverse(
                PartReversal(checkoutID: "c1", merchant: "m1", id: "q1", kind: .returned, items: tees(1), restock: false), now: 75_000
            ).get()
            _ = try await ask(outbox, "q1", .return, tees(1)).get()
            guard
                case .failure(.invalid) = try await outbox.reverse(
                    PartReversal(checkoutID: "c1", merchant: "m1", id: "q1", kind: .returned, items: tees(1), restock: false, request: "q1"), now: 80_000)
            else {
                Issue.record("a used return id answered the request as done")
                return
            }
            #expect(try await requests(outbox).map(\.status) == [.pending])
            // Under its own return id it is accepted, and the acceptance again is a retry.
            let accepting = PartReversal(checkoutID: "c1", merchant: "m1", id: "R-2", kind: .returned, items: nil, restock: false, request: "q1")
            #expect(try await outbox.reverse(accepting, now: 81_000).get().units == [0: 1])
            #expect(try await outbox.reverse(accepting, now: 82_000).get().replayed)
            #expect(try await requests(outbox).map(\.status) == [.accepted])
            #expect(try await mayRequest(outbox) == ["cancel", "return"], "the red cap is left")
        }
    }

    @Test(arguments: kinds) func requestsAreDeliveredAndAnsweredOnce(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(credited("c1", at: 60_000), stream: shop)
            try await outbox.record(.confirmed(reference: "A"), checkoutID: "c1", merchant: "m1", now: 70_000)
            _ = try await ask(outbox, "q1", .cancel, tees(1)).get()
            _ = try await ask(outbox, "q2", .return, [.init(product: "cap", variant: "red", quantity: 1)]).get()

            // Claimed like orders (not the orders themselves), once until answered.
            let claimed = try await claimRequests(outbox, now: 80_000)
            #expect(claimed.map(\.idempotencyKey) == ["c1:m1/request/q1", "c1:m1/request/q2"])
            #expect(try await claimRequests(outbox, now: 80_100).isEmpty)
            // Orders are claimed on their own: m2's sale, no request.
            #expect(
                try await outbox.claim(now: 80_100, limit: 10, claimMilliseconds: 1_000, excluding: [], skipping: [], skippingUnlessBefore: .min)
                    .map(\.idempotencyKey) == ["c1:m2"])
            let payload = claimed[0].payload
            #expect(payload["kind"] == "cancel_request" && payload["request_id"] == "q1" && payload["reference"] == "A")
            #expect(payload["items"] == [["product": "tee", "qty": 1]] && payload["reason"] == "changed my mind" && payload["buyer"] == "buyer-c1")
            #expect(claimed[0].ageFrom == 80_000, "a request's age counts from when it was made")

            // q1 reached the merchant; q2 could not yet, then was declined at the door.
            let received = try #require(OrderNotice.outcome(.confirmed(reference: "RMA-1"), of: claimed[0], at: 81_000))
            #expect(received.type == .orderRequestStatus && received.body["status"] == "received" && received.body["request_id"] == "q1")
            #expect(try await outbox.recordRequest(.confirmed(reference: "RMA-1"), checkoutID: "c1", merchant: "m1", id: "q1", now: 81_000, attempted: true, notice: received).applied)
            #expect(try await outbox.recordRequest(.rejected(reason: "late"), checkoutID: "c1", merchant: "m1", id: "q1", now: 81_500, attempted: true, notice: nil).applied == false)
            try await outbox.recordRequest(.retry(at: 90_000, error: "HTTP 503"), checkoutID: "c1", merchant: "m1", id: "q2", now: 81_000, attempted: true, notice: nil)
            #expect(try await claimRequests(outbox, now: 85_000).isEmpty)
            let again = try await claimRequests(open(), now: 90_000)
            #expect(again.map(\.attempts) == [1] && again.map(\.lastError) == ["HTTP 503"])
            try await outbox.recordRequest(.rejected(reason: "worn items are not taken back"), checkoutID: "c1", merchant: "m1", id: "q2", now: 91_000, attempted: true, notice: nil)
            var stored = try await requests(outbox)
            #expect(stored.map(\.status) == [.received, .declined])
            #expect(stored[1].json["answer"] == "worn items are not taken back")
            // A declined request's units may be asked for again.
            _ = try await ask(outbox, "q3", .return, [.init(product: "cap", variant: "red", quantity: 1)], at: 92_000).get()

            // The merchant accepts q1 with its cancellation: the request's units, in one commit.
            let accepted = try await outbox.reverse(
                PartReversal(checkoutID: "c1", merchant: "m1", id: "q1", kind: .cancelled, items: nil, restock: true, request: "q1"), now: 93_000
            ).get()
            #expect(accepted.units == [0: 1])
            let notice = try #require(accepted.requestNotice)
            #expect(notice.id != nil && notice.type == .orderRequestStatus && notice.body["status"] == "accepted" && notice.buyer == "buyer-c1")
            #expect(try await outbox.undeliveredNotices(for: "buyer-c1", limit: 10).contains { $0.id == notice.id })
            // Answered once; not with the other kind; not one never asked.
            for (id, kind, request) in [("q1b", PartReversal.Kind.cancelled, "q2"), ("q3b", .cancelled, "q3"), ("zz", .returned, "nope")] {
                guard
                    case .failure(.invalid) = try await outbox.reverse(
                        PartReversal(checkoutID: "c1", merchant: "m1", id: id, kind: kind, items: nil, restock: false, request: request), now: 94_000)
                else {
                    Issue.record("accepted request \(request) with \(kind)")
                    return
                }
            }
            // Declined with a note, once; an accepted one is not declined.
            let declined = try await outbox.declineRequest(checkoutID: "c1", merchant: "m1", id: "q3", note: "keep it", now: 95_000).get()
            #expect(declined?.body["answer"] == "keep it" && declined?.body["status"] == "declined")
            #expect(try await outbox.declineRequest(checkoutID: "c1", merchant: "m1", id: "q3", note: "keep it", now: 95_500).get() == nil)
            guard case .failure(.invalid) = try await outbox.declineRequest(checkoutID: "c1", merchant: "m1", id: "q1", note: nil, now: 96_000) else {
                Issue.record("declined an accepted request")
                return
            }
            stored = try await requests(open())
            #expect(stored.map(\.status) == [.accepted, .declined, .declined])

            // Given up on: failed, and the buyer may ask again.
            _ = try await ask(outbox, "q4", .return, [.init(product: "cap", variant: "red", quantity: 1)], at: 97_000).get()
            try await outbox.recordRequest(.deadLetter(reason: "gave up"), checkoutID: "c1", merchant: "m1", id: "q4", now: 98_000, attempted: false, notice: nil)
            #expect(try await requests(outbox).last?.json["answer"] == "the merchant could not be reached; try again later")
            _ = try await ask(outbox, "q5", .return, [.init(product: "cap", variant: "red", quantity: 1)], at: 99_000).get()
        }
    }

    @Test(arguments: kinds) func aCancelStopsAtShipmentAndAPartTakesSoManyRequests(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(credited("c1", at: 60_000), stream: shop)
            try await outbox.record(.confirmed(reference: "A"), checkoutID: "c1", merchant: "m1", now: 70_000)
            try await outbox.record(.confirmed(reference: "B"), checkoutID: "c1", merchant: "m2", now: 70_000)
            // m2 shipped (m1 did not): m2's part is no longer cancelled, only returned.
            try await outbox.addNotice(
                OrderNotice(
                    buyer: "buyer-c1", checkoutID: "c1", stream: shop, type: .orderStatus, body: ["checkout_id": "c1", "merchant": "m2", "status": "shipped"],
                    createdAt: 75_000))
            #expect(try await ask(outbox, "s1", .cancel, merchant: "m2") == .failure(.shipped))
            _ = try await ask(outbox, "s1", .return, merchant: "m2").get()
            _ = try await ask(outbox, "t1", .cancel, tees(1)).get()
            // Declined ones count too: at most maxPerPart per part.
            for index in 2...BuyerRequest.maxPerPart {
                _ = try await ask(outbox, "t\(index)", .cancel, tees(1)).get()
                _ = try await outbox.declineRequest(checkoutID: "c1", merchant: "m1", id: "t\(index)", note: nil, now: 80_000).get()
            }
            #expect(try await ask(outbox, "t99", .cancel, tees(1)) == .failure(.tooMany))

            // Pruned with their checkout, not before: a request on its way or waiting for
            // the merchant's answer keeps it (and the merchant's word on it: m2 shipped).
            try await outbox.prune(before: 10_000_000)
            #expect(try await requests(outbox).count == BuyerRequest.maxPerPart)
            try await outbox.recordRequest(.confirmed(reference: "R"), checkoutID: "c1", merchant: "m1", id: "t1", now: 81_000, attempted: true, notice: nil)
            try await outbox.recordRequest(.confirmed(reference: "R"), checkoutID: "c1", merchant: "m2", id: "s1", now: 81_000, attempted: true, notice: nil)
            try await outbox.prune(before: 10_000_000)
            #expect(try await requests(outbox).count == BuyerRequest.maxPerPart)
            #expect(try await ask(outbox, "s2", .cancel, merchant: "m2") == .failure(.shipped), "the shipped notice is kept with its checkout")
            for (merchant, id) in [("m1", "t1"), ("m2", "s1")] {
                _ = try await outbox.declineRequest(checkoutID: "c1", merchant: merchant, id: id, note: nil, now: 82_000).get()
            }
            try await outbox.prune(before: 10_000_000)
            #expect(try await outbox.history(of: "buyer-c1", after: nil, limit: 10).orders.isEmpty)
            #expect(try await claimRequests(open(), now: 20_000_000).isEmpty)
        }
    }
}
