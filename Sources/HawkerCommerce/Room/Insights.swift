import HawkerProtocol

/// A stream's lifetime counters for `GET /v1/streams/{id}/insights`.
public struct Insights: Sendable {
    public var viewers = 0
    public var peakViewers = 0
    public var chatMessages = 0
    public var questionsAsked = 0
    public var questionsAnswered = 0
    /// Accepted checkouts and units per product, and checkouts per credited code (a
    /// checkout whose lines credit two codes counts for both; one crediting none, "none").
    public internal(set) var checkoutsByProduct: [String: (checkouts: Int, units: Int64)] = [:]
    public internal(set) var checkoutsByCode: [String: Int] = [:]
    /// Products and attribution codes counted apart; the rest are summed under "other"
    /// (a catalog can change over a long stream, and a gateway may register many codes).
    static let maxKeys = 1_000

    /// Money per currency and per merchant: what the host's show sold.
    var sales = SalesFigures()

    mutating func recordCheckout(_ reservation: Reservation) {
        sales.checkout(reservation.lines)
        for line in reservation.lines {
            let product = Self.bucket(line.product, in: checkoutsByProduct)
            checkoutsByProduct[product, default: (0, 0)].checkouts += 1
            checkoutsByProduct[product, default: (0, 0)].units += line.quantity
        }
        for code in Self.codes(of: reservation.lines) {
            checkoutsByCode[Self.bucket(code, in: checkoutsByCode), default: 0] += 1
        }
    }

    /// The codes credited with `lines`, or "none".
    private static func codes(of lines: [Reservation.Line]) -> [String] {
        let codes = lines.creditedCodes
        return codes.isEmpty ? ["none"] : codes
    }

    /// Takes back an accepted checkout that could not be recorded (the buyer was told it failed).
    mutating func forgetCheckout(_ reservation: Reservation) {
        sales.checkout(reservation.lines, sign: -1)
        for line in reservation.lines {
            guard var entry = checkoutsByProduct[line.product] else { continue }
            entry.checkouts -= 1
            entry.units -= line.quantity
            checkoutsByProduct[line.product] = entry.checkouts > 0 ? entry : nil
        }
        for code in Self.codes(of: reservation.lines) {
            if let count = checkoutsByCode[code] { checkoutsByCode[code] = count > 1 ? count - 1 : nil }
        }
    }

    /// Orders settled by merchants: confirmed or failed, per product and attribution code.
    public internal(set) var ordersByProduct: [String: (confirmed: Int, failed: Int)] = [:]
    public internal(set) var ordersByCode: [String: (confirmed: Int, failed: Int)] = [:]
    public internal(set) var ordersConfirmed = 0
    public internal(set) var ordersFailed = 0

    /// One merchant's part of a checkout settled: `lines` are that part's.
    mutating func recordOrder(_ lines: [Reservation.Line], confirmed: Bool) {
        sales.order(lines, confirmed: confirmed)
        if confirmed { ordersConfirmed += 1 } else { ordersFailed += 1 }
        for product in Set(lines.map(\.product)) {
            let key = Self.bucket(product, in: ordersByProduct)
            if confirmed { ordersByProduct[key, default: (0, 0)].confirmed += 1 } else { ordersByProduct[key, default: (0, 0)].failed += 1 }
        }
        for code in Self.codes(of: lines) {
            let key = Self.bucket(code, in: ordersByCode)
            if confirmed { ordersByCode[key, default: (0, 0)].confirmed += 1 } else { ordersByCode[key, default: (0, 0)].failed += 1 }
        }
    }

    /// The returns counted lately (`key`s), oldest first, and as a set: a return
    /// forwarded again (a cluster's retry after a timeout) is not counted twice.
    private(set) var returnsCounted: [String] = []
    private var returnKeys: Set<String> = []
    static let maxReturnsRemembered = 1_000

    /// Units of confirmed orders taken back (cancelled or returned), once per `key`; false
    /// when that return was counted already.
    mutating func recordReturn(_ lines: [Reservation.Line], key: String) -> Bool {
        guard key.isEmpty || rememberReturn(key) else { return false }
        sales.returned(lines)
        return true
    }

    mutating func rememberReturn(_ key: String) -> Bool {
        guard returnKeys.insert(key).inserted else { return false }
        returnsCounted.append(key)
        if returnsCounted.count > Self.maxReturnsRemembered { returnKeys.remove(returnsCounted.removeFirst()) }
        return true
    }

    private static func bucket<Value>(_ key: String, in counts: [String: Value]) -> String {
        counts[key] != nil || counts.count < maxKeys ? key : "other"
    }

    func json(chat: ChatRoom, intents: IntentAggregator, now: Int64) -> JSONValue {
        let (money, merchants) = sales.json
        return [
            "money": money,
            "merchants": merchants,
            "viewers": ["current": .int(Int64(viewers)), "peak": .int(Int64(peakViewers))],
            "chat": [
                "messages": .int(Int64(chat.accepted)), "refused": .int(Int64(chat.refused)),
                "sampled_out": .int(Int64(chat.sampledOutTotal)),
            ],
            "questions": ["asked": .int(Int64(questionsAsked)), "answered": .int(Int64(questionsAnswered))],
            "checkouts": [
                "by_product": .array(
                    checkoutsByProduct.sorted { $0.key < $1.key }.map {
                        ["product": .string($0.key), "checkouts": .int(Int64($0.value.checkouts)), "units": .int($0.value.units)]
                    }),
                "by_attribution_code": .array(checkoutsByCode.sorted { $0.key < $1.key }.map { ["code": .string($0.key), "checkouts": .int(Int64($0.value))] }),
            ],
            "orders": [
                "confirmed": .int(Int64(ordersConfirmed)), "failed": .int(Int64(ordersFailed)),
                "by_product": .array(
                    ordersByProduct.sorted { $0.key < $1.key }.map {
                        ["product": .string($0.key), "confirmed": .int(Int64($0.value.confirmed)), "failed": .int(Int64($0.value.failed))]
                    }),
                "by_attribution_code": .array(
                    ordersByCode.sorted { $0.key < $1.key }.map {
                        ["code": .string($0.key), "confirmed": .int(Int64($0.value.confirmed)), "failed": .int(Int64($0.value.failed))]
                    }),
            ],
            "intents": .array(
                intents.lifetimeTotals().map { product, totals in
                    var entry: [String: JSONValue] = ["product": .string(product)]
                    for action in IntentAction.allCases { entry[action.rawValue] = .int(Int64(totals[action] ?? 0)) }
                    return .object(entry)
                }),
        ]
    }
}
