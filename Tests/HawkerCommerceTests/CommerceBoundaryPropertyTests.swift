import HawkerCommerce
import HawkerProtocol
import PropertyBased
import Testing

/// The commerce state under numbers from the edges: prices, stock, quantities and
/// durations near 0, 2^53 − 1 and Int64's limits go through the same path as a host's
/// events and a viewer's checkout. Nothing may trap (a trap ends the test process), and
/// whatever is accepted stays within 0 ... 2^53 − 1.
@Suite struct CommerceBoundaryPropertyTests {
    static let now: Int64 = 1_732_660_000_000
    static let boundaries: [Int64] = [
        0, 1, -1, 2, 999, 1_000, 1_001, JSONValue.maxSafeInteger - 1, JSONValue.maxSafeInteger, JSONValue.maxSafeInteger + 1,
        JSONValue.maxSafeInteger / 2, JSONValue.maxSafeInteger / 1_000, Int64.max, Int64.max - 1, Int64.min, Int64.min + 1,
    ]

    /// A boundary value most of the time, otherwise any Int64 or a small one.
    static func value(_ pick: Int, _ raw: Int64) -> Int64 {
        if pick < boundaries.count { return boundaries[pick] }
        return pick.isMultiple(of: 2) ? raw : raw % 2_000
    }

    /// A host's event as it arrives: refused at the edge (EventDraft) or by the room.
    static func publish(_ room: inout StreamRoom, _ kind: EventKind, _ data: [String: JSONValue], now: Int64) {
        guard let draft = try? EventDraft(kind: kind, data: data) else { return }
        _ = try? room.apply(draft, now: now)
    }

    static func checkInvariants(_ room: StreamRoom) {
        for product in room.commerce.catalog.all {
            #expect((0...JSONValue.maxSafeInteger).contains(product.price), "price of \(product.id)")
            if let stock = product.stock { #expect((0...JSONValue.maxSafeInteger).contains(stock), "stock of \(product.id)") }
        }
        for sale in room.commerce.sales.values {
            #expect(sale.endsAt > sale.startsAt)
            #expect((0...JSONValue.maxSafeInteger).contains(sale.endsAt))
        }
    }

    @Test func boundaryNumbersNeverTrapAndStayInRange() async {
        await propertyCheck(count: 400, input: Gen.int(in: 0...24).array(of: 8), Gen.int64(in: .min ... .max).array(of: 8)) { picks, raws in
            let v = (0..<8).map { Self.value(picks[$0], raws[$0]) }
            let (price, stock, quantity, duration, salePrice, level, startsIn, priceSeen) = (v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
            var configuration = RoomConfiguration()
            configuration.checkoutPolicy = .anyInCatalog
            var room = StreamRoom(configuration: configuration)
            var now = Self.now

            Self.publish(
                &room, .catalogSet,
                [
                    "products": [
                        ["id": "a", "title": "A", "merchant": "m1", "price": .int(price), "currency": "EUR", "stock": .int(stock)],
                        ["id": "b", "title": "B", "merchant": "m2", "price": .int(JSONValue.maxSafeInteger), "currency": "EUR"],
                    ]
                ], now: now)
            Self.publish(&room, .saleStarted, ["sale": "s1", "items": [["product": "a", "price": .int(salePrice)]], "duration_ms": .int(duration)], now: now)
            Self.publish(
                &room, .saleScheduled,
                [
                    "sale": "s2", "items": [["product": "b", "price": 1]], "starts_at": .int(now &+ startsIn), "duration_ms": .int(duration),
                ], now: now)
            Self.checkInvariants(room)

            // A viewer buys at the price it saw (or at a number from the edge), twice as much of b.
            let seen = room.commerce.catalog["a"].map { _ in priceSeen == 0 ? (room.stateJSON(now: now)["catalog"]?.arrayValue?.first?["price"]?.intValue ?? 0) : priceSeen } ?? priceSeen
            var checkouts: [String] = []
            for (index, lines) in [
                [CheckoutRequest.Line(product: "a", variant: nil, quantity: quantity, priceSeen: seen)],
                [CheckoutRequest.Line(product: "a", variant: nil, quantity: 1, priceSeen: seen), .init(product: "b", variant: nil, quantity: 1_000, priceSeen: JSONValue.maxSafeInteger)],
                [CheckoutRequest.Line(product: "b", variant: nil, quantity: max(1, min(quantity, 1_000)), priceSeen: JSONValue.maxSafeInteger)],
            ].enumerated() {
                let id = "c\(index)"
                let outcome = room.checkout(CheckoutRequest(lines: lines, shipTo: "DE", attribution: .init(), idempotencyKey: "k\(index)"), buyer: "u", checkoutID: id, now: now)
                if case .success(let reservation) = outcome.result {
                    let totals = reservation.totals
                    #expect(totals != nil, "an accepted cart has a total within 2^53 − 1")
                    for total in totals ?? [] { #expect((0...JSONValue.maxSafeInteger).contains(total.amount)) }
                    checkouts.append(id)
                }
                Self.checkInvariants(room)
            }

            // The host sets the level anywhere, then the orders fail and give their stock back.
            Self.publish(&room, .stockChanged, ["product": "a", "level": .int(level)], now: now)
            for id in checkouts {
                for merchant in ["m1", "m2"] { _ = room.settle(checkoutID: id, merchant: merchant, confirmed: false, now: now) }
            }
            Self.checkInvariants(room)

            // Time runs on past every sale's end.
            for step in [Int64(1_000), 86_400_000, 604_800_000] {
                now += step
                _ = room.tick(now: now)
                Self.checkInvariants(room)
            }
        }
    }
}
