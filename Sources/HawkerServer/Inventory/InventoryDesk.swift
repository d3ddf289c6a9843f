import HawkerAuth
import HawkerCommerce
import HawkerHub
import HawkerProtocol
import Synchronization

/// Merchants' side of the stock: their back offices (HTTP) and their order services
/// (`inventory.set`, `inventory.get`) read and set the levels of their own products in
/// the gateway's one inventory. Answers are the levels after the change, once the state
/// store holds it.
struct InventoryDesk: Sendable {
    let ledger: InventoryLedger

    /// Products one `inventory.get` or list page reads at most.
    static let maxProducts = 500

    /// Why a request was refused: a code and a message for the error frame or body.
    struct Refusal: Error {
        var code: ErrorCode
        var message: String
    }

    /// Who may touch `merchant`'s stock: an admin, or that merchant's order service (its
    /// token's `merchant` claim). Hosts set levels through their streams' `stock.changed`.
    static func may(_ principal: Principal, manage merchant: String) -> Bool {
        principal.role == .admin || (principal.role == .orderService && principal.merchant == merchant)
    }

    /// Applies `update` to `merchant`'s stock; the levels after it once stored.
    func apply(_ update: InventoryUpdate, merchant: String) async -> Result<JSONValue, Refusal> {
        await withCheckedContinuation { continuation in
            // `stored` may run on the journal's task before `apply` returns: whichever of
            // the two comes last answers.
            let box = Answer()
            guard let levels = ledger.apply(update, merchant: merchant, stored: { box.stored(continuation) }) else {
                continuation.resume(returning: .failure(Refusal(code: .limitReached, message: "this gateway or this merchant tracks as many products' stock as it may (hub.max_skus_per_merchant)")))
                return
            }
            box.levels(Self.json(levels.map { Self.item($0.sku, $0.level) }), continuation)
        }
    }

    /// The levels of `products` (each: its own, then its variants').
    func levels(merchant: String, products: [String]) -> JSONValue {
        Self.json(products.flatMap { product in ledger.levels(merchant: merchant, product: product).map { Self.item($0.sku, $0.level) } })
    }

    /// A page of every product `merchant` tracks, by id after `after`.
    func page(merchant: String, after: String?, limit: Int) -> JSONValue {
        let (levels, more) = ledger.page(merchant: merchant, after: after, limit: min(max(1, limit), Self.maxProducts))
        var body = Self.json(levels.map { Self.item($0.sku, $0.level) })
        if more, case .object(var object) = body, let last = levels.last {
            object["next_after"] = .string(last.sku.product)
            body = .object(object)
        }
        return body
    }

    static func json(_ items: [JSONValue]) -> JSONValue { ["items": .array(items)] }

    static func item(_ sku: SKU, _ level: StockLevel?) -> JSONValue {
        var item: [String: JSONValue] = ["product": .string(sku.product)]
        if let variant = sku.variant { item["variant"] = .string(variant) }
        if let level {
            item["on_hand"] = .int(level.onHand)
            item["pending"] = .int(level.pending)
            item["available"] = .int(level.available)
        } else {
            item["tracked"] = .bool(false)
        }
        return .object(item)
    }

    /// The levels and the store's word, which come in either order.
    private final class Answer: Sendable {
        private let state = Mutex<(levels: JSONValue?, stored: Bool)>((nil, false))

        func stored(_ continuation: CheckedContinuation<Result<JSONValue, Refusal>, Never>) {
            let levels = state.withLock { state in
                state.stored = true
                return state.levels
            }
            if let levels { continuation.resume(returning: .success(levels)) }
        }

        func levels(_ levels: JSONValue, _ continuation: CheckedContinuation<Result<JSONValue, Refusal>, Never>) {
            let stored = state.withLock { state in
                state.levels = levels
                return state.stored
            }
            if stored { continuation.resume(returning: .success(levels)) }
        }
    }
}
