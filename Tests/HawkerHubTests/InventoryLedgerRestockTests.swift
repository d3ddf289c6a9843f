import HawkerCommerce
import HawkerHub
import Synchronization
import Testing

/// Units a merchant takes back go where the stock is kept, and nowhere else.
@Suite struct InventoryLedgerRestockTests {
    @Test func unitsGoBackToTrackedLevelsOnly() {
        let ledger = InventoryLedger(journal: nil)
        let tee = SKU(merchant: "m1", product: "tee")
        #expect(ledger.setOnHand(tee, to: 5))
        #expect(ledger.setOnHand(SKU(merchant: "m1", product: "cap", variant: "red"), to: 1))
        let storedCalls = Atomic(0)
        let moved = ledger.restock(
            [
                // A variant without a level of its own: its product's.
                SKU(merchant: "m1", product: "tee", variant: "m"): 2,
                SKU(merchant: "m1", product: "cap", variant: "red"): 1,
                // Not tracked (unlimited): stays so, not tracked at the returned units.
                SKU(merchant: "m1", product: "mug"): 3,
                SKU(merchant: "m1", product: "cap", variant: "blue"): 1,
            ]) { storedCalls.add(1, ordering: .relaxed) }
        #expect(Set(moved) == [tee, SKU(merchant: "m1", product: "cap", variant: "red")])
        #expect(ledger.available(tee) == 7)
        #expect(ledger.available(SKU(merchant: "m1", product: "cap", variant: "red")) == 2)
        #expect(ledger.available(SKU(merchant: "m1", product: "mug")) == nil)
        #expect(ledger.available(SKU(merchant: "m1", product: "cap", variant: "blue")) == nil)
        #expect(storedCalls.load(ordering: .relaxed) == 1, "without a store, at once")
        // Nothing tracked: nothing moves, and the caller still hears it is done.
        #expect(ledger.restock([SKU(merchant: "m2", product: "x"): 1]) { storedCalls.add(1, ordering: .relaxed) }.isEmpty)
        #expect(storedCalls.load(ordering: .relaxed) == 2)
    }
}
