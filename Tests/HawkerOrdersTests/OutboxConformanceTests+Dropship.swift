import HawkerCommerce
import HawkerOrders
import HawkerProtocol
import Testing

/// Sellers and suppliers (dropship), in every outbox: one delivery per party, the
/// suppliers' shipments held until their seller confirms.
extension OutboxConformanceTests {
    /// s1 sells a tee it ships itself (credited to Anna) and two mugs d1 ships for it; s2
    /// sells a lamp d1 ships too. Parties: s1's sale, d1's shipment for s1, s2's sale, d1's
    /// shipment for s2.
    private func dropshipCart(_ id: String, at time: Int64 = 1_000) -> Reservation {
        var reservation = outboxReservation(id, merchants: ["s1"], at: time)
        reservation.lines = [
            .init(
                product: "tee", variant: nil, quantity: 1, unitPrice: 2_000, currency: "EUR", merchant: "s1", sale: nil,
                credit: LineCredit(code: "ANNA10", influencer: "anna", commission: 200, source: .referral)),
            .init(
                product: "mug", variant: "blue", quantity: 2, unitPrice: 1_500, currency: "EUR", merchant: "s1", sale: nil,
                supplier: Supplier(merchant: "d1", price: 800)),
            .init(
                product: "lamp", variant: nil, quantity: 1, unitPrice: 4_000, currency: "EUR", merchant: "s2", sale: nil,
                supplier: Supplier(merchant: "d1", price: 2_500)),
        ]
        reservation.charges = [
            Charge(merchant: "s1", currency: "EUR", subtotal: 5_000, shipping: 490, tax: 798, taxIncluded: true, total: 5_490, zone: "DE"),
            Charge(merchant: "s2", currency: "EUR", subtotal: 4_000, shipping: 0, tax: 639, taxIncluded: true, total: 4_000, zone: "DE"),
        ]
        return reservation
    }

    private static let forS1 = Party(merchant: "d1", seller: "s1")
    private static let forS2 = Party(merchant: "d1", seller: "s2")

    @Test(arguments: kinds) func aDropshipCartGivesEachPartyItsPartAndShipsOnlyWhatItsSellerConfirmed(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(dropshipCart("c1"), stream: shop)
            let parts = try await open().deliveries(of: "c1")
            #expect(Set(parts.map(\.idempotencyKey)) == ["c1:s1", "c1:s2", "c1:d1/for/s1", "c1:d1/for/s2"])
            #expect(parts.filter(\.isShipment).allSatisfy { $0.status == .held })
            #expect(parts.filter { !$0.isShipment }.allSatisfy { $0.status == .pending })
            // Only the sales go out first.
            #expect(try await outbox.due(now: 1_000, limit: 10).map(\.idempotencyKey).sorted() == ["c1:s1", "c1:s2"])

            // The seller's order names the supplier on its line; the shipment holds only
            // the units the supplier ships, at its price, and nothing of the sale's money.
            let sale = try #require(parts.first { $0.idempotencyKey == "c1:s1" })
            #expect(sale.lines.map(\.product) == ["tee", "mug"])
            #expect(sale.payload["kind"] == "sale")
            #expect(sale.payload["items"]?.arrayValue?[1]["supplier"] == ["merchant": "d1", "price": 800])
            #expect(sale.charges.map(\.total) == [5_490])
            let shipment = try #require(parts.first { $0.party == Self.forS1 })
            #expect(shipment.lines.map(\.product) == ["mug"])
            let payload = shipment.payload
            #expect(payload["kind"] == "shipment")
            #expect(payload["merchant"] == "d1")
            #expect(payload["seller"] == "s1")
            #expect(payload["idempotency_key"] == "c1:d1/for/s1")
            #expect(payload["items"] == [["product": "mug", "variant": "blue", "qty": 2, "unit_cost": 800, "currency": "EUR"]])
            #expect(payload["cost"] == [["currency": "EUR", "amount": 1_600]])
            #expect(payload["ship_to"] == nil && payload["region"] == "DE")
            #expect(payload["charges"] == nil && payload["attribution"] == nil, "the buyer's payment and the influencer are the seller's business")

            // s1 confirms: its shipment is due at once (another instance sees it); s2
            // refuses: its shipment is cancelled, never sent.
            #expect(try await outbox.record(.confirmed(reference: "S1-7"), checkoutID: "c1", merchant: "s1", now: 2_000).applied)
            #expect(try await outbox.record(.rejected(reason: "out of lamps"), checkoutID: "c1", merchant: "s2", now: 2_000).applied)
            let due = try await open().due(now: 2_000, limit: 10)
            #expect(due.map(\.idempotencyKey) == ["c1:d1/for/s1"])
            #expect(due.first?.ageFrom == 2_000, "a released shipment's age counts from its release")
            let cancelled = try #require(try await outbox.deliveries(of: "c1").first { $0.party == Self.forS2 })
            #expect(cancelled.status == .rejected)
            #expect(cancelled.lastError?.contains("out of lamps") == true)

            // The supplier confirms its shipment: the sale, its earnings and the buyer's
            // view stay the seller's.
            #expect(try await outbox.record(.confirmed(reference: "D1-1"), checkoutID: "c1", party: Self.forS1, now: 3_000, attempted: true, notice: nil).applied)
            #expect(try await outbox.record(.confirmed(reference: "again"), checkoutID: "c1", party: Self.forS1, now: 3_100, attempted: true, notice: nil).applied == false)
            #expect(
                try await outbox.settled(merchant: "d1", since: 0, limit: 10).map(\.idempotencyKey) == ["c1:d1/for/s1"],
                "the shipment cancelled before it was sent is not replayed to the supplier")
            let earned = try await outbox.earnings(of: "anna", since: 0, until: 10_000, bucketMilliseconds: 1_000)
            #expect(earned.totals.map(\.status) == [.confirmed])
            #expect(earned.totals.first?.commission == 200)
            let history = try await outbox.history(of: "buyer-c1", after: nil, limit: 10).orders
            #expect(history.first?.parts.map(\.merchant) == ["s1", "s2"])
            #expect(history.first?.status == "partly_failed")
            let touched = try await outbox.checkouts(touchedSince: 0, limit: 10)
            #expect(touched.first?.parts.map(\.merchant) == ["s1", "s2"], "a restarted room settles stock on the sales only")
        }
    }

    @Test(arguments: kinds) func aShipmentWaitsOutItsSellersDeadLetterAndIsRedrivenByParty(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(dropshipCart("c1"), stream: shop)
            // The sale is given up on: its shipment stays held (the sale may be re-driven).
            try await outbox.record(.deadLetter(reason: "s1 unreachable"), checkoutID: "c1", merchant: "s1", now: 2_000)
            #expect(try await outbox.deliveries(of: "c1").first { $0.party == Self.forS1 }?.status == .held)
            #expect(try await outbox.redrive(checkoutID: "c1", merchant: "s1", now: 3_000))
            try await outbox.record(.confirmed(reference: "S1-7"), checkoutID: "c1", merchant: "s1", now: 4_000)
            #expect(try await outbox.due(now: 4_000, limit: 10).map(\.idempotencyKey).contains("c1:d1/for/s1"))

            // The shipment is given up on in turn, and re-driven by its party; the
            // supplier's redrive does not touch the seller's sale or its earnings.
            try await outbox.record(.deadLetter(reason: "d1 unreachable"), checkoutID: "c1", party: Self.forS1, now: 5_000, attempted: true, notice: nil)
            let letters = try await outbox.deadLetters(limit: 10)
            #expect(letters.map(\.idempotencyKey) == ["c1:d1/for/s1"])
            #expect(try await outbox.redrive(checkoutID: "c1", merchant: "d1", now: 6_000) == false, "d1 sells nothing here")
            #expect(try await outbox.redrive(checkoutID: "c1", party: Self.forS1, now: 6_000))
            #expect(try await open().due(now: 6_000, limit: 10).map(\.idempotencyKey).contains("c1:d1/for/s1"))
            let earned = try await outbox.earnings(of: "anna", since: 0, until: 10_000, bucketMilliseconds: 1_000)
            #expect(earned.totals.map(\.status) == [.confirmed])
        }
    }

    @Test(arguments: kinds) func aSupplierCannotTakeBackWhatItsSellerSold(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(dropshipCart("c1"), stream: shop)
            try await outbox.record(.confirmed(reference: "S1-7"), checkoutID: "c1", merchant: "s1", now: 2_000)
            try await outbox.record(.confirmed(reference: "D1-1"), checkoutID: "c1", party: Self.forS1, now: 3_000, attempted: true, notice: nil)
            let byTheSupplier = PartReversal(
                checkoutID: "c1", merchant: "d1", id: "r1", kind: .returned, items: nil, restock: false, noticeBody: ["status": "returned"])
            #expect(try await outbox.reverse(byTheSupplier, now: 4_000) == .failure(.unknownPart))
        }
    }

    @Test(arguments: kinds) func aSellersCancellationStopsTheShipmentsNotSentYet(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(dropshipCart("c1"), stream: shop)
            try await outbox.record(.confirmed(reference: "S1-7"), checkoutID: "c1", merchant: "s1", now: 2_000)
            try await outbox.record(.confirmed(reference: "S2-1"), checkoutID: "c1", merchant: "s2", now: 2_000)
            // s1 cancels its tee only: the mugs still ship.
            func cancel(_ seller: String, _ id: String, _ items: [PartReversal.Item]?) async throws -> Result<ReversalRecord, PartReversal.Refusal> {
                try await outbox.reverse(
                    PartReversal(checkoutID: "c1", merchant: seller, id: id, kind: .cancelled, items: items, restock: true, noticeBody: ["status": "cancelled"]),
                    now: 3_000)
            }
            _ = try await cancel("s1", "x1", [PartReversal.Item(product: "tee", variant: nil, quantity: 1)]).get()
            #expect(try await outbox.deliveries(of: "c1").first { $0.party == Self.forS1 }?.status == .pending)
            // Then the mugs too: their shipment, not sent yet, is not sent at all.
            _ = try await cancel("s1", "x2", nil).get()
            let stopped = try #require(try await outbox.deliveries(of: "c1").first { $0.party == Self.forS1 })
            #expect(stopped.status == .rejected)
            #expect(stopped.lastError?.contains("cancelled") == true)
            #expect(try await open().due(now: 4_000, limit: 10).map(\.idempotencyKey) == ["c1:d1/for/s2"])
            // A shipment already sent stays the supplier's (the seller tells it itself).
            try await outbox.record(.confirmed(reference: "D1-2"), checkoutID: "c1", party: Self.forS2, now: 4_000, attempted: true, notice: nil)
            _ = try await cancel("s2", "y1", nil).get()
            #expect(try await outbox.deliveries(of: "c1").first { $0.party == Self.forS2 }?.status == .confirmed)
        }
    }

    /// A seller's cancellation of some of the units a supplier ships: the shipment, not
    /// sent yet, carries what is left (and costs that); once tried, it stays as it went.
    @Test(arguments: kinds) func aPartialCancellationShipsLessUntilTheShipmentIsTried(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            var cart = dropshipCart("c1")
            cart.lines[1].quantity = 3
            try await outbox.append(cart, stream: shop)
            try await outbox.record(.confirmed(reference: "S1-7"), checkoutID: "c1", merchant: "s1", now: 2_000)
            func cancel(_ id: String, mugs: Int64) async throws {
                _ = try await outbox.reverse(
                    PartReversal(
                        checkoutID: "c1", merchant: "s1", id: id, kind: .cancelled, items: [.init(product: "mug", variant: "blue", quantity: mugs)], restock: true,
                        noticeBody: ["status": "cancelled"]), now: 3_000
                ).get()
            }
            try await cancel("x1", mugs: 1)
            var shipment = try #require(try await open().due(now: 4_000, limit: 10).first { $0.party == Self.forS1 })
            #expect(shipment.lines.map(\.quantity) == [2])
            #expect(shipment.payload["items"] == [["product": "mug", "variant": "blue", "qty": 2, "unit_cost": 800, "currency": "EUR"]])
            #expect(shipment.payload["cost"] == [["currency": "EUR", "amount": 1_600]])
            // A return is no cancellation: it ships what it shipped.
            _ = try await outbox.reverse(
                PartReversal(checkoutID: "c1", merchant: "s1", id: "r1", kind: .returned, items: [.init(product: "tee", variant: nil, quantity: 1)], restock: false),
                now: 3_500
            ).get()
            try await cancel("x2", mugs: 1)
            shipment = try #require(try await outbox.deliveries(of: "c1").first { $0.party == Self.forS1 })
            #expect(shipment.lines.map(\.quantity) == [1])
            // Tried (it may have reached the supplier): what it carried stays.
            try await outbox.record(.retry(at: 5_000, error: "timeout"), checkoutID: "c1", party: Self.forS1, now: 4_000, attempted: true, notice: nil)
            try await cancel("x3", mugs: 1)
            shipment = try #require(try await open().deliveries(of: "c1").first { $0.party == Self.forS1 })
            #expect(shipment.status == .pending && shipment.lines.map(\.quantity) == [1])
            // The seller's own sale is what it sold.
            #expect(try await outbox.deliveries(of: "c1").first { $0.party == .sale("s1") }?.lines.map(\.quantity) == [1, 3])
        }
    }

    /// A shipment refused by its supplier surely did not go: a cancellation stops it. One
    /// given up on after tries may have reached the supplier and stays a dead letter, but an
    /// operator's re-drive of it after the seller took everything back stops it instead.
    @Test(arguments: kinds) func aCancelledOrdersShipmentIsNeverSentAgain(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            try await outbox.append(dropshipCart("c1"), stream: shop)
            for seller in ["s1", "s2"] { try await outbox.record(.confirmed(reference: "S"), checkoutID: "c1", merchant: seller, now: 2_000) }
            try await outbox.record(
                .deadLetter(reason: PartReversal.refusedBySupplier + "no mugs"), checkoutID: "c1", party: Self.forS1, now: 3_000, attempted: true, notice: nil)
            try await outbox.record(.deadLetter(reason: "gave up after 8 attempts: timeout"), checkoutID: "c1", party: Self.forS2, now: 3_000, attempted: true, notice: nil)
            for seller in ["s1", "s2"] {
                _ = try await outbox.reverse(
                    PartReversal(checkoutID: "c1", merchant: seller, id: "x", kind: .cancelled, items: nil, restock: true, noticeBody: ["status": "cancelled"]),
                    now: 4_000
                ).get()
            }
            let parts = try await outbox.deliveries(of: "c1")
            #expect(parts.first { $0.party == Self.forS1 }?.status == .rejected, "refused: surely not shipped")
            #expect(parts.first { $0.party == Self.forS2 }?.status == .deadLettered, "tried: maybe shipped, the seller's to settle")
            #expect(try await outbox.redrive(checkoutID: "c1", party: Self.forS2, now: 5_000) == false)
            #expect(try await open().deliveries(of: "c1").first { $0.party == Self.forS2 }?.status == .rejected)
            #expect(try await outbox.due(now: 6_000, limit: 10).isEmpty)
        }
    }
}
