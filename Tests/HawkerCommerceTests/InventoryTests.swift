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

    @Test func restoredHoldsCountAsPending() {
        var inventory = Inventory()
        inventory.setOnHand(Self.tee, to: 5)
        inventory.hold("c1", merchant: "m1", [Self.tee: 3])
        #expect(inventory.available(Self.tee) == 2)
        inventory.hold("c1", merchant: "m1", [Self.tee: 3])
        #expect(inventory.available(Self.tee) == 2, "holding the same part twice counts once")
    }
}
