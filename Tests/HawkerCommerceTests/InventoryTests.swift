import HawkerCommerce
import HawkerProtocol
import Testing

/// Stock per merchant product: on hand, pending, and what checkouts may take.
@Suite struct InventoryTests {
    static let tee = SKU(merchant: "m1", product: "tee")
    static let cap = SKU(merchant: "m2", product: "cap")

    @Test func aCheckoutHoldsAllItsUnitsOrNone() throws {
        var inventory = Inventory()
        inventory.setAvailable(Self.tee, to: 3)
        inventory.setAvailable(Self.cap, to: 1)
        try inventory.reserve("c1", [.init(sku: Self.tee, quantity: 2), .init(sku: Self.cap, quantity: 1)])
        #expect(inventory.available(Self.tee) == 1 && inventory.available(Self.cap) == 0)
        // The cap is gone: nothing of this cart is held.
        #expect(throws: CheckoutRejection.self) { try inventory.reserve("c2", [.init(sku: Self.tee, quantity: 1), .init(sku: Self.cap, quantity: 1)]) }
        #expect(inventory.available(Self.tee) == 1)
        do {
            try inventory.reserve("c3", [.init(sku: Self.tee, quantity: 2)])
            Issue.record("two taken from one")
        } catch {
            #expect(error.reason == .insufficientStock && error.available == 1)
        }
        // Untracked products are not limited and hold nothing.
        try inventory.reserve("c4", [.init(sku: SKU(merchant: "m3", product: "free"), quantity: 1_000)])
        #expect(inventory.open["c4"] == nil)
    }

    @Test func aLevelSetWhileOrdersAreOnTheirWayNeverOffersAnAcceptedUnitAgain() throws {
        var inventory = Inventory()
        inventory.setAvailable(Self.tee, to: 5)
        try inventory.reserve("c1", [.init(sku: Self.tee, quantity: 2)])
        // A host says 10 are available now: on hand becomes 12, 2 of them pending.
        inventory.setAvailable(Self.tee, to: 10)
        #expect(inventory.level(Self.tee) == StockLevel(onHand: 12, pending: 2))
        // The merchant counts 4 it holds outside the orders it has received: 2 available.
        inventory.setOnHand(Self.tee, to: 4)
        #expect(inventory.available(Self.tee) == 2)
        // It confirms the order: off on hand and out of pending.
        #expect(inventory.settle("c1", merchant: "m1", confirmed: true) == [Self.tee])
        #expect(inventory.level(Self.tee) == StockLevel(onHand: 2, pending: 0))
        // Settling twice changes nothing.
        #expect(inventory.settle("c1", merchant: "m1", confirmed: true).isEmpty)
        #expect(inventory.available(Self.tee) == 2)
    }

    @Test func aFailedOrderOrAnUnrecordedCheckoutGivesItsUnitsBack() throws {
        var inventory = Inventory()
        inventory.setAvailable(Self.tee, to: 2)
        inventory.setAvailable(Self.cap, to: 2)
        try inventory.reserve("c1", [.init(sku: Self.tee, quantity: 1), .init(sku: Self.cap, quantity: 1)])
        inventory.settle("c1", merchant: "m2", confirmed: false)
        #expect(inventory.available(Self.cap) == 2 && inventory.available(Self.tee) == 1)
        #expect(inventory.release("c1") == [Self.tee])
        #expect(inventory.available(Self.tee) == 2 && inventory.open.isEmpty)
    }

    @Test func aMerchantLevelBelowWhatIsPendingShowsNoneLeft() throws {
        var inventory = Inventory()
        inventory.setAvailable(Self.tee, to: 5)
        try inventory.reserve("c1", [.init(sku: Self.tee, quantity: 4)])
        inventory.setOnHand(Self.tee, to: 1)
        #expect(inventory.available(Self.tee) == 0)
        #expect(throws: CheckoutRejection.self) { try inventory.reserve("c2", [.init(sku: Self.tee, quantity: 1)]) }
        inventory.adjust(Self.tee, by: 10)
        #expect(inventory.available(Self.tee) == 7)
    }

    @Test func levelsStayWithinSafeIntegersAndTheSKUBound() {
        var inventory = Inventory(maxSKUs: 1)
        inventory.setOnHand(Self.tee, to: JSONValue.maxSafeInteger)
        inventory.adjust(Self.tee, by: .max)
        #expect(inventory.level(Self.tee)?.onHand == JSONValue.maxSafeInteger)
        inventory.adjust(Self.tee, by: .min)
        #expect(inventory.level(Self.tee)?.onHand == 0)
        let tracked = inventory.setAvailable(Self.cap, to: 1)
        #expect(!tracked, "a second SKU is past the bound")
    }

    @Test func stoppingTrackingKeepsWhatIsPending() throws {
        var inventory = Inventory()
        inventory.setOnHand(Self.tee, to: 10)
        try inventory.reserve("c1", [.init(sku: Self.tee, quantity: 3)])
        inventory.untrack(Self.tee)
        #expect(inventory.available(Self.tee) == nil)
        // Tracked again while the order is on its way: its 3 units are still pending.
        inventory.setOnHand(Self.tee, to: 10)
        #expect(inventory.level(Self.tee) == StockLevel(onHand: 10, pending: 3))
        inventory.settle("c1", merchant: "m1", confirmed: true)
        #expect(inventory.level(Self.tee) == StockLevel(onHand: 7, pending: 0))
        // Tracked again by a level of what is available: the pending units are on top.
        try inventory.reserve("c3", [.init(sku: Self.tee, quantity: 2)])
        inventory.untrack(Self.tee)
        inventory.setAvailable(Self.tee, to: 10)
        #expect(inventory.level(Self.tee) == StockLevel(onHand: 12, pending: 2))
        inventory.settle("c3", merchant: "m1", confirmed: false)
        // Settled while not tracked: nothing stays pending.
        try inventory.reserve("c2", [.init(sku: Self.tee, quantity: 2)])
        inventory.untrack(Self.tee)
        inventory.settle("c2", merchant: "m1", confirmed: false)
        #expect(inventory.untrackedPending.isEmpty)
    }

    @Test func restoredHoldsCountAsPending() {
        var inventory = Inventory()
        inventory.setOnHand(Self.tee, to: 5)
        inventory.hold("c1", merchant: "m1", [Self.tee: 3])
        #expect(inventory.available(Self.tee) == 2)
        inventory.hold("c1", merchant: "m1", [Self.tee: 3])
        #expect(inventory.available(Self.tee) == 2, "holding the same part twice counts once")
    }
}

/// A merchant's updates: all or none, and what its back office lists.
@Suite struct InventoryUpdateTests {
    @Test func anUpdateAppliesAllOrNone() {
        var inventory = Inventory(maxSKUs: 2)
        let two = InventoryUpdate(items: [.init(product: "tee", change: .onHand(5)), .init(product: "tee", variant: "s", change: .available(2))])
        #expect(inventory.apply(two, merchant: "m1") == [SKU(merchant: "m1", product: "tee"), SKU(merchant: "m1", product: "tee", variant: "s")])
        // A third SKU is past the bound: the adjustment beside it is not made either.
        let past = InventoryUpdate(items: [.init(product: "tee", change: .adjust(1)), .init(product: "cap", change: .onHand(1))])
        #expect(inventory.apply(past, merchant: "m1") == nil)
        #expect(inventory.level(SKU(merchant: "m1", product: "tee"))?.onHand == 5)
        // Untracking frees room.
        let swap = InventoryUpdate(items: [.init(product: "tee", variant: "s", change: .untrack), .init(product: "cap", change: .adjust(3))])
        #expect(inventory.apply(swap, merchant: "m1") != nil)
        #expect(inventory.level(SKU(merchant: "m1", product: "cap"))?.onHand == 3)
        #expect(inventory.available(SKU(merchant: "m1", product: "tee", variant: "s")) == nil)
    }

    @Test func oneMerchantCannotTakeTheWholeRoom() {
        var inventory = Inventory(maxSKUs: 10, maxSKUsPerMerchant: 2)
        let first = inventory.setOnHand(SKU(merchant: "m1", product: "a"), to: 1)
        let second = inventory.setOnHand(SKU(merchant: "m1", product: "b"), to: 1)
        let third = inventory.setOnHand(SKU(merchant: "m1", product: "c"), to: 1)
        #expect(first && second && !third)
        let applied = inventory.apply(InventoryUpdate(items: [.init(product: "c", change: .onHand(1))]), merchant: "m1")
        #expect(applied == nil)
        let other = inventory.setOnHand(SKU(merchant: "m2", product: "a"), to: 1)
        #expect(other, "another merchant still has room")
        inventory.untrack(SKU(merchant: "m1", product: "a"))
        let again = inventory.setOnHand(SKU(merchant: "m1", product: "c"), to: 1)
        #expect(again)
    }

    @Test func levelsReadBackAtStartPassTheBounds() {
        var inventory = Inventory(maxSKUs: 10, maxSKUsPerMerchant: 1)
        inventory.restoreOnHand(SKU(merchant: "m1", product: "a"), to: 3)
        inventory.restoreOnHand(SKU(merchant: "m1", product: "b"), to: 4)
        #expect(inventory.available(SKU(merchant: "m1", product: "b")) == 4, "a tracked level stays tracked over a lowered bound")
        let more = inventory.setOnHand(SKU(merchant: "m1", product: "c"), to: 1)
        #expect(!more, "new SKUs are still bounded")
    }

    @Test func aMerchantListsOnlyItsOwnProductsInPages() {
        var inventory = Inventory()
        for product in ["a", "b", "c"] { inventory.setOnHand(SKU(merchant: "m1", product: product), to: 1) }
        inventory.setOnHand(SKU(merchant: "m1", product: "b", variant: "x"), to: 4)
        inventory.setOnHand(SKU(merchant: "m2", product: "a"), to: 9)
        let first = inventory.products(merchant: "m1", after: nil, limit: 2)
        #expect(first.products == ["a", "b"] && first.more)
        let second = inventory.products(merchant: "m1", after: "b", limit: 2)
        #expect(second.products == ["c"] && !second.more)
        #expect(inventory.levels(merchant: "m1", product: "b").map(\.sku.variant) == [nil, "x"])
        inventory.untrack(SKU(merchant: "m1", product: "b"))
        inventory.untrack(SKU(merchant: "m1", product: "b", variant: "x"))
        #expect(inventory.products(merchant: "m1", after: nil, limit: 10).products == ["a", "c"])
    }

    @Test func aVariantCountsOnItsOwnLevelElseItsProducts() throws {
        var inventory = Inventory()
        let tee = SKU(merchant: "m1", product: "tee")
        let small = SKU(merchant: "m1", product: "tee", variant: "s")
        inventory.setOnHand(tee, to: 3)
        #expect(inventory.countingSKU(small) == tee)
        try inventory.reserve("c1", [.init(sku: small, quantity: 2)])
        #expect(inventory.available(tee) == 1)
        inventory.setOnHand(small, to: 1)
        #expect(inventory.countingSKU(small) == small)
        // The hold made on the product's level settles there.
        #expect(inventory.settle("c1", merchant: "m1", confirmed: true) == [tee])
        #expect(inventory.level(tee) == StockLevel(onHand: 1, pending: 0))
        // A hold restored (or re-opened) for a variant without its own level counts on the product's.
        inventory.untrack(small)
        inventory.hold("c2", merchant: "m1", [small: 1])
        #expect(inventory.open["c2"]?["m1"] == [tee: 1])
        #expect(inventory.available(tee) == 0)
    }
}
