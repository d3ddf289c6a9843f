import HawkerCommerce
import HawkerProtocol

extension ServerMessage.ErrorReply {
    /// A refused checkout or quote as the buyer's client reads it: the reason as the code,
    /// and what it is about (the product, its price now, how many are left, or the new
    /// charges and totals).
    init(_ rejection: CheckoutRejection, re: String) {
        self.init(
            re: re, code: ErrorCode(rawValue: rejection.reason.rawValue) ?? .invalidCheckout, message: rejection.message,
            product: rejection.product, currentPrice: rejection.currentPrice, available: rejection.available,
            charges: rejection.charges.map { .array($0.map(\.json)) }, totals: rejection.charges.map { totalsJSON($0.totals ?? []) })
    }
}
