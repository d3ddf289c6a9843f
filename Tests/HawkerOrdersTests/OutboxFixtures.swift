import HawkerCommerce
import HawkerProtocol

/// A checkout as the outbox tests store it: one line per merchant, buyer `buyer-<id>`,
/// idempotency key `key-<id>`.
func outboxReservation(_ id: String, merchants: [String] = ["m1"], at time: Int64 = 1_000) -> Reservation {
    Reservation(
        checkoutID: id,
        buyer: "buyer-\(id)",
        lines: merchants.enumerated().map { index, merchant in
            .init(product: "p\(index)", variant: nil, quantity: 1, unitPrice: 100, currency: "EUR", merchant: merchant, sale: nil)
        },
        region: "DE",
        attribution: .init(code: "ana10", stream: "shop", referrer: nil),
        idempotencyKey: "key-\(id)",
        createdAt: time
    )
}
