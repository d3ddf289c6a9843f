import HawkerCommerce
import HawkerProtocol
import Testing

/// Stock kept per variant: what a line takes from, what viewers see, what events say.
@Suite struct VariantStockTests {
    let now: Int64 = 1_732_660_000_000

    /// A tee with sizes s and m, 2 and 1 left; the stream sells anything in its catalog.
    private func room(stock: any StockSource = LocalStock(), productStock: Int64? = nil) throws -> StreamRoom {
        var configuration = RoomConfiguration()
        configuration.checkoutPolicy = .anyInCatalog
        var room = StreamRoom(configuration: configuration, stock: stock)
        var tee: [String: JSONValue] = [
            "id": "tee", "title": "Tee", "merchant": "m1", "price": 1_000, "currency": "EUR",
            "variants": [["id": "s", "title": "S", "stock": 2], ["id": "m", "title": "M", "stock": 1]],
        ]
        if let productStock { tee["stock"] = .int(productStock) }
        _ = try room.apply(draft(.catalogSet, ["products": [.object(tee)]]), now: now)
        return room
    }

    private func checkout(_ room: inout StreamRoom, variant: String?, quantity: Int64 = 1, key: String) -> StreamRoom.CheckoutOutcome {
        let request = CheckoutRequest(
            lines: [.init(product: "tee", variant: variant, quantity: quantity, priceSeen: 1_000)], shipTo: "DE", idempotencyKey: key)
        return room.checkout(request, buyer: "u", checkoutID: "c-\(key)", now: now)
    }

    private func rejection(_ outcome: StreamRoom.CheckoutOutcome) -> CheckoutRejection? {
        if case .failure(let rejection) = outcome.result { return rejection }
        return nil
    }

    @Test func eachVariantSellsItsOwnUnitsAndTheProductShowsTheirSum() throws {
        var room = try room()
        #expect(room.commerce.catalog["tee"]?.stock == 3)
        #expect(room.commerce.catalog["tee"]?.variants.map(\.stock) == [2, 1])

        let first = checkout(&room, variant: "m", key: "k1")
        #expect(rejection(first) == nil)
        // One event for the variant that moved, with the product's level beside it.
        #expect(first.stockEvents.count == 1)
        let data = try #require(first.stockEvents.first?.data)
        #expect(data["variant"] == "m" && data["level"] == 0 && data["sold_out"] == true && data["product_level"] == 2)

        #expect(rejection(checkout(&room, variant: "m", key: "k2"))?.reason == .soldOut)
        #expect(rejection(checkout(&room, variant: "s", quantity: 2, key: "k3")) == nil)
        #expect(room.commerce.catalog["tee"]?.stock == 0)
    }

    @Test func aLineWithoutAVariantIsRefusedWhenStockIsKeptPerVariant() throws {
        var room = try room()
        let refused = rejection(checkout(&room, variant: nil, key: "k1"))
        #expect(refused?.reason == .unknownVariant)
        #expect(room.commerce.catalog["tee"]?.stock == 3, "nothing was taken")
    }

    @Test func aVariantWithoutALevelOfItsOwnTakesFromTheProduct() throws {
        let stock = LocalStock()
        var configuration = RoomConfiguration()
        configuration.checkoutPolicy = .anyInCatalog
        var room = StreamRoom(configuration: configuration, stock: stock)
        let tee: JSONValue = [
            "id": "tee", "title": "Tee", "merchant": "m1", "price": 1_000, "currency": "EUR", "stock": 5,
            "variants": [["id": "s", "title": "S", "stock": 2], ["id": "m", "title": "M"]],
        ]
        _ = try room.apply(draft(.catalogSet, ["products": [tee]]), now: now)
        #expect(rejection(checkout(&room, variant: "m", quantity: 3, key: "k1")) == nil)
        #expect(stock.available(SKU(merchant: "m1", product: "tee")) == 2)
        #expect(stock.available(SKU(merchant: "m1", product: "tee", variant: "s")) == 2)
        // The product shows its own level; a line without a variant takes from it too.
        #expect(room.commerce.catalog["tee"]?.stock == 2)
        #expect(rejection(checkout(&room, variant: nil, quantity: 2, key: "k2")) == nil)
        #expect(rejection(checkout(&room, variant: "s", quantity: 2, key: "k3")) == nil)
    }

    @Test func aHostSetsOneVariantsLevel() throws {
        var room = try room()
        let event = try room.apply(draft(.stockChanged, ["product": "tee", "variant": "s", "level": 7]), now: now)
        #expect(event.data["variant"] == "s" && event.data["level"] == 7 && event.data["product_level"] == 8)
        #expect(room.commerce.catalog["tee"]?.variants.first?.stock == 7)
        #expect(throws: RoomError.self) { try room.apply(draft(.stockChanged, ["product": "tee", "variant": "xl", "level": 1]), now: now) }
    }

    @Test func variantLevelsAreTheirOwnStateForSlowViewers() throws {
        let small = draft(.stockChanged, ["product": "tee", "variant": "s", "level": 1])
        let medium = draft(.stockChanged, ["product": "tee", "variant": "m", "level": 1])
        let whole = draft(.stockChanged, ["product": "tee", "level": 1])
        #expect(Set([small.stateKey, medium.stateKey, whole.stateKey]).count == 3)
    }
}

/// A room restored after a restart, squared with the outbox's checkouts.
@Suite struct RestoredCheckoutTests {
    let now: Int64 = 1_732_660_000_000

    @Test func aPartSettledBeforeTheSaveIsNotSettledAgain() throws {
        var configuration = RoomConfiguration()
        configuration.checkoutPolicy = .anyInCatalog
        var room = StreamRoom(configuration: configuration)
        _ = try room.apply(catalog(product("a", merchant: "m1"), product("b", merchant: "m2")), now: now)
        _ = try room.apply(
            draft(.saleStarted, ["sale": "flash", "items": [["product": "a", "price": 500], ["product": "b", "price": 500]], "duration_ms": 600_000]), now: now)
        let request = CheckoutRequest(
            lines: [.init(product: "a", variant: nil, quantity: 1, priceSeen: 500), .init(product: "b", variant: nil, quantity: 1, priceSeen: 500)],
            shipTo: "DE", idempotencyKey: "k1")
        guard case .success(let reservation) = room.checkout(request, buyer: "u", checkoutID: "c1", now: now).result else {
            Issue.record("the checkout was refused")
            return
        }
        // m1's part fails (its sale unit comes back), then the room is saved.
        _ = room.settle(checkoutID: "c1", merchant: "m1", confirmed: false, now: now)
        #expect(room.commerce.sales["flash"]?.sold == 1)
        var restored = try #require(StreamRoom(restoring: room.save(), configuration: configuration, seed: 1))
        _ = restored.restoreCheckout(reservation, counted: true, holding: ["m2"], settled: [:], now: now)
        // A re-driven m1 that fails again gives nothing back a second time; m2 still counts.
        #expect(restored.settle(checkoutID: "c1", merchant: "m1", confirmed: false, now: now).isEmpty)
        #expect(restored.commerce.sales["flash"]?.sold == 1)
        _ = restored.settle(checkoutID: "c1", merchant: "m2", confirmed: false, now: now)
        #expect(restored.commerce.sales["flash"]?.sold == 0)
    }
}
