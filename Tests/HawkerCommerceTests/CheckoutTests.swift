import HawkerCommerce
import HawkerProtocol
import Testing

/// Checkout validation in its documented order, atomic stock, sale limits, idempotency.
@Suite struct CheckoutTests {
    let now: Int64 = 1_732_660_000_000

    private func room(policy: CommerceState.BuyablePolicy = .pinnedOrOnSale, _ products: JSONValue...) throws -> StreamRoom {
        var configuration = RoomConfiguration()
        configuration.checkoutPolicy = policy
        var room = StreamRoom(configuration: configuration)
        _ = try room.apply(draft(.catalogSet, ["products": .array(products)]), now: now)
        return room
    }

    private func request(_ lines: [(String, Int64, Int64)], variant: String? = nil, region: Destination = "DE", key: String = "k1", code: String? = nil) -> CheckoutRequest {
        CheckoutRequest(
            lines: lines.map { .init(product: $0.0, variant: variant, quantity: $0.1, priceSeen: $0.2) },
            shipTo: region,
            attribution: .init(code: code, stream: "shop", referrer: nil),
            idempotencyKey: key
        )
    }

    private func reason(_ outcome: StreamRoom.CheckoutOutcome) -> CheckoutRejection.Reason? {
        if case .failure(let rejection) = outcome.result { return rejection.reason }
        return nil
    }

    @Test func checksComeInOrderEachWithItsReason() throws {
        var room = try room(
            product("a", price: 1_000, stock: 1, regions: ["DE"]),
            product("b", price: 500, stock: 5),
            product("hidden", price: 100, stock: 5)
        )
        _ = try room.apply(draft(.productPinned, ["product": "a"]), now: now)
        _ = try room.apply(draft(.productPinned, ["product": "b"]), now: now)
        func attempt(_ lines: [(String, Int64, Int64)], region: Destination = "DE", variant: String? = nil) -> CheckoutRejection.Reason? {
            reason(room.checkout(request(lines, variant: variant, region: region, key: "\(lines)\(region)\(variant ?? "")"), buyer: "u", checkoutID: "c", now: now))
        }
        #expect(attempt([("nope", 1, 1)]) == .unknownProduct)
        #expect(attempt([("a", 1, 1_000)], variant: "xl") == .unknownVariant)
        #expect(attempt([("hidden", 1, 100)]) == .notBuyable)
        // A wrong price is reported before the region, the region before the stock.
        #expect(attempt([("a", 1, 999)], region: "FR") == .priceChanged)
        #expect(attempt([("a", 1, 1_000)], region: "FR") == .regionNotServed)
        #expect(attempt([("a", 2, 1_000)]) == .insufficientStock)
        #expect(attempt([("a", 1, 1_000), ("b", 1, 500)]) == nil)
        #expect(attempt([("a", 1, 1_000)]) == .soldOut)
        // All lines or none: b's stock was not touched by the refused checkouts.
        #expect(room.commerce.catalog["b"]?.stock == 4)
    }

    @Test func priceChangedCarriesTheCurrentPriceSalePriceIncluded() throws {
        var room = try room(policy: .anyInCatalog, product("a", price: 1_000, stock: 10))
        _ = try room.apply(draft(.saleStarted, ["sale": "s", "items": [["product": "a", "price": 700]], "duration_ms": 60_000]), now: now)
        let stale = room.checkout(request([("a", 1, 1_000)]), buyer: "u", checkoutID: "c1", now: now)
        guard case .failure(let rejection) = stale.result else {
            Issue.record("expected price_changed")
            return
        }
        #expect(rejection.reason == .priceChanged)
        #expect(rejection.currentPrice == 700)
        let fine = room.checkout(request([("a", 1, 700)], key: "k2"), buyer: "u", checkoutID: "c2", now: now)
        let reservation = try fine.result.get()
        #expect(reservation.lines.first?.unitPrice == 700)
        #expect(reservation.lines.first?.sale == "s")
        #expect(fine.stockEvents.map { $0.data["level"] } == [9])
    }

    @Test func saleLimitsPerBuyerAndInTotal() throws {
        var room = try room(product("a", price: 1_000, stock: 100))
        _ = try room.apply(draft(.saleStarted, ["sale": "s", "items": [["product": "a", "price": 500]], "duration_ms": 60_000, "per_buyer_limit": 2, "total_limit": 3]), now: now)
        #expect(reason(room.checkout(request([("a", 2, 500)], key: "1"), buyer: "ann", checkoutID: "c1", now: now)) == nil)
        let more = room.checkout(request([("a", 1, 500)], key: "2"), buyer: "ann", checkoutID: "c2", now: now)
        #expect(reason(more) == .limitReached)
        #expect(reason(room.checkout(request([("a", 2, 500)], key: "3"), buyer: "bob", checkoutID: "c3", now: now)) == .limitReached)  // 1 left in total
        #expect(reason(room.checkout(request([("a", 1, 500)], key: "4"), buyer: "bob", checkoutID: "c4", now: now)) == nil)
        #expect(room.commerce.sales["s"]?.sold == 3)
    }

    /// Units a merchant takes back count against the sale no more, and the host's money
    /// nets them out.
    @Test func aReturnGivesItsSaleUnitsBackAndShowsInTheHostsMoney() throws {
        var room = try room(product("a", price: 1_000, stock: 100))
        _ = try room.apply(draft(.saleStarted, ["sale": "s", "items": [["product": "a", "price": 500]], "duration_ms": 60_000, "per_buyer_limit": 2, "total_limit": 3]), now: now)
        guard case .success(var reservation) = room.checkout(request([("a", 2, 500)], key: "1"), buyer: "ann", checkoutID: "c1", now: now).result else {
            Issue.record("refused")
            return
        }
        _ = room.settle(checkoutID: "c1", merchant: "m1", confirmed: true, now: now)
        #expect(reason(room.checkout(request([("a", 1, 500)], key: "2"), buyer: "ann", checkoutID: "c2", now: now)) == .limitReached)
        reservation.lines[0].quantity = 1
        _ = room.returned(reservation)
        #expect(room.commerce.sales["s"]?.sold == 1)
        // The same return forwarded again (a cluster's retry) counts nothing more.
        #expect(room.returned(reservation).isEmpty)
        #expect(room.commerce.sales["s"]?.sold == 1)
        #expect(reason(room.checkout(request([("a", 1, 500)], key: "3"), buyer: "ann", checkoutID: "c3", now: now)) == nil, "her returned unit is hers to buy again")
        let money = room.insightsJSON(now: now)["money"]?.arrayValue?.first
        #expect(money?["returned_units"] == 1)
        #expect(money?["returned_revenue"] == 500)
        #expect(money?["confirmed_revenue"] == 1_000)
    }

    /// A flash-sale storm: many buyers on few units; exactly the stock is sold.
    @Test func aStormNeverOversells() throws {
        var room = try room(product("a", price: 1_000, stock: 100))
        _ = try room.apply(draft(.saleStarted, ["sale": "s", "items": [["product": "a", "price": 100]], "duration_ms": 60_000]), now: now)
        var accepted = 0
        var soldOut = 0
        for buyer in 0..<1_000 {
            let outcome = room.checkout(request([("a", Int64(1 + buyer % 3), 100)], key: "k"), buyer: "b\(buyer)", checkoutID: "c\(buyer)", now: now)
            switch outcome.result {
            case .success(let reservation): accepted += Int(reservation.lines[0].quantity)
            case .failure(let rejection) where rejection.reason == .soldOut: soldOut += 1
            case .failure(let rejection): #expect(rejection.reason == .insufficientStock)
            }
        }
        #expect(accepted == 100)
        #expect(room.commerce.catalog["a"]?.stock == 0)
        #expect(soldOut > 900)
    }

    @Test func aRetryWithTheSameKeyGetsTheFirstAnswer() throws {
        var room = try room(policy: .anyInCatalog, product("a", price: 1_000, stock: 5))
        let first = room.checkout(request([("a", 2, 1_000)], key: "retry"), buyer: "u", checkoutID: "c1", now: now)
        let again = room.checkout(request([("a", 2, 1_000)], key: "retry"), buyer: "u", checkoutID: "c2", now: now)
        #expect(!first.replayed)
        #expect(again.replayed)
        #expect(try again.result.get().checkoutID == "c1")
        #expect(room.commerce.catalog["a"]?.stock == 3)
        // The key is the buyer's: another buyer with the same key is another checkout.
        #expect(try room.checkout(request([("a", 1, 1_000)], key: "retry"), buyer: "v", checkoutID: "c3", now: now).result.get().checkoutID == "c3")
        // A refusal is an answer too.
        let refused = room.checkout(request([("a", 1, 1)], key: "bad"), buyer: "u", checkoutID: "c4", now: now)
        #expect(reason(refused) == .priceChanged)
        #expect(reason(room.checkout(request([("a", 1, 1_000)], key: "bad"), buyer: "u", checkoutID: "c5", now: now)) == .priceChanged)
    }

    @Test func aFailedOrderGivesTheStockAndSaleCountsBack() throws {
        var room = try room(product("a", price: 1_000, stock: 2))
        _ = try room.apply(draft(.saleStarted, ["sale": "s", "items": [["product": "a", "price": 900]], "duration_ms": 60_000, "per_buyer_limit": 2]), now: now)
        _ = try room.checkout(request([("a", 2, 900)]), buyer: "u", checkoutID: "c1", now: now).result.get()
        #expect(room.commerce.catalog["a"]?.isSoldOut == true)
        let events = room.settle(checkoutID: "c1", merchant: "m1", confirmed: false, now: now)
        #expect(events.map { $0.data["level"] } == [2])
        #expect(events.first?.data["sold_out"] == false)
        #expect(room.commerce.sales["s"]?.sold == 0)
        // Settling the same part again (a re-driven dead letter) releases nothing more.
        #expect(room.settle(checkoutID: "c1", merchant: "m1", confirmed: false, now: now).isEmpty)
        #expect(room.commerce.catalog["a"]?.stock == 2)
        #expect(reason(room.checkout(request([("a", 2, 900)], key: "k2"), buyer: "u", checkoutID: "c2", now: now)) == nil)
    }

    @Test func eachMerchantSettlesOnlyItsOwnLines() throws {
        var room = try room(policy: .anyInCatalog, product("a", price: 1_000, stock: 10), product("b", price: 10, stock: 10, merchant: "m2"))
        let credit = AttributionCredit(code: "ANA10", influencer: "ana", commissionBasisPoints: 1_000, merchants: nil, source: .code)
        _ = try room.checkout(
            request([("a", 1, 1_000), ("b", 3, 10)], code: "ana10"), buyer: "u", checkoutID: "c1", attribution: AttributionCandidates(credits: [credit]), now: now
        ).result.get()
        #expect(room.settle(checkoutID: "c1", merchant: "m1", confirmed: true, now: now).isEmpty)
        let released = room.settle(checkoutID: "c1", merchant: "m2", confirmed: false, now: now)
        #expect(released.map { $0.data["product"] } == ["b"])
        #expect(room.commerce.catalog["a"]?.stock == 9)
        #expect(room.commerce.catalog["b"]?.stock == 10)
        #expect(room.heldCheckouts == 0)
        #expect(room.intents.totals(product: "a")[.purchase] == 1)
        let orders = room.insightsJSON(now: now)["orders"]
        #expect(orders?["confirmed"] == 1)
        #expect(orders?["failed"] == 1)
        #expect(orders?["by_attribution_code"] == [["code": "ANA10", "confirmed": 1, "failed": 1]])
        // The host's money: per currency, and per merchant of record.
        let insights = room.insightsJSON(now: now)
        #expect(
            insights["money"] == [
                [
                    "currency": "EUR", "checkouts": 1, "units": 4, "revenue": 1_030, "average_order_value": 1_030, "confirmed_orders": 1, "failed_orders": 1,
                    "confirmed_revenue": 1_000, "failed_revenue": 30, "returned_units": 0, "returned_revenue": 0,
                ]
            ])
        #expect(
            insights["merchants"] == [
                [
                    "merchant": "m1", "currency": "EUR", "checkouts": 1, "units": 1, "revenue": 1_000, "confirmed_orders": 1, "failed_orders": 0, "confirmed_revenue": 1_000, "failed_revenue": 0,
                    "returned_units": 0, "returned_revenue": 0,
                ],
                [
                    "merchant": "m2", "currency": "EUR", "checkouts": 1, "units": 3, "revenue": 30, "confirmed_orders": 0, "failed_orders": 1, "confirmed_revenue": 0, "failed_revenue": 30,
                    "returned_units": 0, "returned_revenue": 0,
                ],
            ])
    }

    @Test func anAbandonedCheckoutComesBackAndItsKeyRunsAgain() throws {
        var room = try room(policy: .anyInCatalog, product("a", price: 1_000, stock: 1))
        let reservation = try room.checkout(request([("a", 1, 1_000)], key: "k"), buyer: "u", checkoutID: "c1", now: now).result.get()
        #expect(room.abandon(reservation).map { $0.data["level"] } == [1])
        let retry = room.checkout(request([("a", 1, 1_000)], key: "k"), buyer: "u", checkoutID: "c2", now: now)
        #expect(!retry.replayed)
        #expect(try retry.result.get().checkoutID == "c2")
        #expect(room.insightsJSON(now: now)["checkouts"]?["by_product"] == [["product": "a", "checkouts": 1, "units": 1]])
        // The abandoned one's money is taken back too.
        #expect(room.insightsJSON(now: now)["money"]?.arrayValue?.first?["revenue"] == 1_000)
        #expect(room.insightsJSON(now: now)["money"]?.arrayValue?.first?["checkouts"] == 1)
    }

    @Test func checkoutsFeedIntentsAndInsightsPerProductAndCode() throws {
        var room = try room(policy: .anyInCatalog, product("a", price: 1_000, stock: 10), product("b", price: 10, stock: 10, merchant: "m2"))
        // The buyer's code pays on m2's products only; the host's code takes the rest.
        let candidates = AttributionCandidates(credits: [
            AttributionCredit(code: "ANA10", influencer: "ana", commissionBasisPoints: 1_000, merchants: ["m2"], source: .referral),
            AttributionCredit(code: "HOST5", influencer: "host", commissionBasisPoints: 500, merchants: nil, source: .host),
        ])
        let reservation = try room.checkout(
            request([("a", 1, 1_000), ("b", 3, 10)], code: "ana10"), buyer: "u", checkoutID: "c1", attribution: candidates, now: now
        ).result.get()
        #expect(reservation.merchants == ["m1", "m2"])
        #expect(
            reservation.lines.map(\.credit) == [
                LineCredit(code: "HOST5", influencer: "host", commission: 50, source: .host),
                LineCredit(code: "ANA10", influencer: "ana", commission: 3, source: .referral),
            ])
        #expect(reservation.declined == nil)
        let insights = room.insightsJSON(now: now)
        #expect(insights["checkouts"]?["by_product"] == [["product": "a", "checkouts": 1, "units": 1], ["product": "b", "checkouts": 1, "units": 3]])
        #expect(insights["checkouts"]?["by_attribution_code"] == [["code": "ANA10", "checkouts": 1], ["code": "HOST5", "checkouts": 1]])
        #expect(room.intents.totals(product: "b")[.checkout] == 1)
    }

    /// A code the buyer brought that covers none of the cart's merchants is declined, and
    /// a checkout without candidates credits nobody ("none" in the insights).
    @Test func aBuyersCodeForOtherMerchantsIsDeclinedAndNothingIsCredited() throws {
        var room = try room(policy: .anyInCatalog, product("a", price: 1_000, stock: 10))
        let elsewhere = AttributionCandidates(credits: [
            AttributionCredit(code: "ANA10", influencer: "ana", commissionBasisPoints: 1_000, merchants: ["m9"], source: .code)
        ])
        let reservation = try room.checkout(request([("a", 2, 1_000)], code: "ana10"), buyer: "u", checkoutID: "c1", attribution: elsewhere, now: now)
            .result.get()
        #expect(reservation.lines.allSatisfy { $0.credit == nil })
        #expect(reservation.declined == AttributionDeclined(code: "ANA10", reason: .notForProducts))
        // The directory's own refusal is kept as it said.
        let unknown = AttributionCandidates(declinedCode: AttributionDeclined(code: "MADE-UP", reason: .unknownCode))
        let second = try room.checkout(request([("a", 1, 1_000)], key: "k2", code: "made-up"), buyer: "u", checkoutID: "c2", attribution: unknown, now: now)
            .result.get()
        #expect(second.declined == AttributionDeclined(code: "MADE-UP", reason: .unknownCode))
        #expect(room.insightsJSON(now: now)["checkouts"]?["by_attribution_code"] == [["code": "none", "checkouts": 2]])
    }

    /// `declined` names the first of the buyer's claims that credits nothing, the entered
    /// code before the referral, even when another code is credited.
    @Test func theEnteredCodeIsAccountedForBeforeTheReferral() throws {
        var room = try room(policy: .anyInCatalog, product("a", price: 1_000, stock: 10))
        let elsewhere = AttributionCredit(code: "ANA10", influencer: "ana", commissionBasisPoints: 1_000, merchants: ["m9"], source: .code)
        let referral = AttributionCredit(code: "BOB5", influencer: "bob", commissionBasisPoints: 500, merchants: nil, source: .referral)
        let stale = AttributionDeclined(code: "BOB5", reason: .referralExpired)
        let first = try room.checkout(
            request([("a", 1, 1_000)], key: "k1"), buyer: "u", checkoutID: "c1",
            attribution: AttributionCandidates(credits: [elsewhere], declinedReferral: stale), now: now
        ).result.get()
        #expect(first.declined == AttributionDeclined(code: "ANA10", reason: .notForProducts))
        let second = try room.checkout(
            request([("a", 1, 1_000)], key: "k2"), buyer: "u", checkoutID: "c2", attribution: AttributionCandidates(credits: [elsewhere, referral]), now: now
        ).result.get()
        #expect(second.lines.map(\.credit?.code) == ["BOB5"])
        #expect(second.declined == AttributionDeclined(code: "ANA10", reason: .notForProducts))
        let third = try room.checkout(
            request([("a", 1, 1_000)], key: "k3"), buyer: "u", checkoutID: "c3", attribution: AttributionCandidates(credits: [referral]), now: now
        ).result.get()
        #expect(third.declined == nil)
        // A referral that fits but is outranked by the entered code is no refusal.
        let everywhere = AttributionCredit(code: "ANA10", influencer: "ana", commissionBasisPoints: 1_000, merchants: nil, source: .code)
        let fourth = try room.checkout(
            request([("a", 1, 1_000)], key: "k4"), buyer: "u", checkoutID: "c4", attribution: AttributionCandidates(credits: [everywhere, referral]), now: now
        ).result.get()
        #expect(fourth.lines.map(\.credit?.code) == ["ANA10"])
        #expect(fourth.declined == nil)
    }

    /// Commissions round down, and never overflow, even on the largest amounts.
    @Test func commissionsRoundDownWithoutOverflow() {
        let credit = AttributionCredit(code: "X", influencer: "x", commissionBasisPoints: 1_234, merchants: nil, source: .code)
        #expect(credit.commission(on: 10_000) == 1_234)
        #expect(credit.commission(on: 99) == 12)
        #expect(credit.commission(on: 0) == 0)
        let top = JSONValue.maxSafeInteger
        // ⌊(2^53 − 1) × 1234 / 10000⌋, where the plain product would pass Int64.
        #expect(credit.commission(on: top) == 1_111_488_388_035_038)
        let whole = AttributionCredit(code: "X", influencer: "x", commissionBasisPoints: 10_000, merchants: nil, source: .code)
        #expect(whole.commission(on: top) == top)
        #expect(AttributionCredit(code: "X", influencer: "x", commissionBasisPoints: 20_000, merchants: nil, source: .code).commissionBasisPoints == 10_000)
    }

    /// The outbox stores reservations in this form: every field comes back.
    @Test func aReservationSurvivesItsStoredForm() throws {
        let full = Reservation(
            checkoutID: "ck_1", buyer: "ana",
            lines: [
                .init(product: "a", variant: "m", quantity: 2, unitPrice: 900, currency: "EUR", merchant: "m1", sale: "s"),
                .init(
                    product: "b\"q", variant: nil, quantity: 1, unitPrice: 10, currency: "EUR", merchant: "m2", sale: nil,
                    credit: LineCredit(code: "ANNA10", influencer: "anna", commission: 1, source: .referral)),
            ],
            region: "DE", attribution: .init(code: "ANNA10", stream: "shop", referrer: "https://ref.example/ü", referral: "ANNA10.1.tag"),
            declined: AttributionDeclined(code: "NOPE", reason: .unknownCode), idempotencyKey: "k", createdAt: 1_732_000_000_000
        )
        #expect(Reservation(json: full.json) == full)
        let bare = Reservation(checkoutID: "ck_2", buyer: "bo", lines: full.lines, region: "FR", attribution: .init(), idempotencyKey: "k2", createdAt: 1)
        #expect(Reservation(json: bare.json) == bare)
        #expect(Reservation(json: ["checkoutID": "ck_3"]) == nil)
    }

    /// A cart whose total passes 2^53 − 1 minor units is refused before anything is
    /// held (it used to be accepted and trap when the total was formed for the reply).
    @Test func aCartWhoseTotalPassesTheSafeRangeIsInvalidAndHoldsNothing() throws {
        let top = JSONValue.maxSafeInteger
        var room = try room(policy: .anyInCatalog, product("dear", price: top, stock: 10), product("cheap", price: 1, stock: 10))
        let outcome = room.checkout(request([("dear", 2, top)]), buyer: "u", checkoutID: "c1", now: now)
        #expect(reason(outcome) == .invalidCheckout)
        let mixed = room.checkout(request([("dear", 1, top), ("cheap", 1, 1)], key: "k2"), buyer: "u", checkoutID: "c2", now: now)
        #expect(reason(mixed) == .invalidCheckout)
        #expect(room.commerce.catalog["dear"]?.stock == 10)
        #expect(room.commerce.catalog["cheap"]?.stock == 10)
        // At the limit exactly, it goes through with its total.
        let one = room.checkout(request([("dear", 1, top)], key: "k3"), buyer: "u", checkoutID: "c3", now: now)
        guard case .success(let reservation) = one.result else {
            Issue.record("expected the checkout at the limit to pass")
            return
        }
        #expect(reservation.totals?.first?.amount == top)
    }

    /// Stock given back by a failed order saturates at 2^53 − 1 instead of trapping.
    @Test func givingStockBackSaturatesAtTheSafeRange() throws {
        var room = try room(policy: .anyInCatalog, product("a", price: 100, stock: 10))
        #expect(reason(room.checkout(request([("a", 5, 100)]), buyer: "u", checkoutID: "c1", now: now)) == nil)
        _ = try room.apply(draft(.stockChanged, ["product": "a", "level": .int(JSONValue.maxSafeInteger - 1)]), now: now)
        _ = room.settle(checkoutID: "c1", merchant: "m1", confirmed: false, now: now)
        #expect(room.commerce.catalog["a"]?.stock == JSONValue.maxSafeInteger)
    }
}
