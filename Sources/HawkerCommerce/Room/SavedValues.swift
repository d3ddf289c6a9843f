import HawkerProtocol

/// Saved rooms come from disk: a damaged or foreign file must not trap the gateway that
/// restores it. Counters are clamped into 0...2^53 − 1 (later `+= 1` cannot overflow),
/// and an entity with a number outside it (a product, a sale, a question) is left out.
enum SavedValues {
    static func isSafe(_ value: Int64) -> Bool { (0...JSONValue.maxSafeInteger).contains(value) }
    static func isSafe(_ value: Int64?) -> Bool { value.map(isSafe) ?? true }
    static func isSafe(_ value: Int) -> Bool { isSafe(Int64(value)) }

    static func clamp(_ value: Int) -> Int { Int(clamp(Int64(value))) }
    static func clamp(_ value: Int64) -> Int64 { min(max(0, value), JSONValue.maxSafeInteger) }
    static func clamp(_ value: UInt64) -> UInt64 { min(value, UInt64(JSONValue.maxSafeInteger)) }

    static func isSafe(_ product: Product) -> Bool {
        isSafe(product.price) && isSafe(product.previousPrice) && isSafe(product.stock) && isSafe(product.lowStockThreshold)
            && product.variants.allSatisfy { isSafe($0.price) && isSafe($0.stock) }
    }

    static func isSafe(_ sale: FlashSale) -> Bool {
        isSafe(sale.startsAt) && isSafe(sale.endsAt) && sale.startsAt < sale.endsAt && isSafe(sale.totalLimit) && isSafe(sale.perBuyerLimit)
            && isSafe(sale.sold) && sale.boughtByBuyer.values.allSatisfy { isSafe($0) }
            && sale.items.allSatisfy { isSafe($0.price) && isSafe($0.regularPrice) }
    }

    static func isSafe(_ question: QuestionAggregator.Question) -> Bool {
        isSafe(question.askers) && isSafe(question.upvotes) && isSafe(question.askedAt) && isSafe(question.lastActivityAt)
            && isSafe(question.answeredAt) && isSafe(question.scoreUpdatedAt) && isSafe(question.halfLifeMilliseconds)
            && question.storedScore.isFinite && question.storedScore >= 0
    }
}
