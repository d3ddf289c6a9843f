import HawkerProtocol

/// A stream's lifetime counters for `GET /v1/streams/{id}/insights`.
public struct Insights: Sendable {
    public var viewers = 0
    public var peakViewers = 0
    public var chatMessages = 0
    public var questionsAsked = 0
    public var questionsAnswered = 0
    /// Accepted checkouts and units per product, and checkouts per attribution code.
    public private(set) var checkoutsByProduct: [String: (checkouts: Int, units: Int64)] = [:]
    public private(set) var checkoutsByCode: [String: Int] = [:]
    /// Products and attribution codes counted apart; the rest are summed under "other"
    /// (a catalog can change over a long stream, codes are the buyers' to choose).
    static let maxKeys = 1_000

    mutating func recordCheckout(_ reservation: Reservation) {
        for line in reservation.lines {
            let product = Self.bucket(line.product, in: checkoutsByProduct)
            checkoutsByProduct[product, default: (0, 0)].checkouts += 1
            checkoutsByProduct[product, default: (0, 0)].units += line.quantity
        }
        checkoutsByCode[Self.bucket(reservation.attribution.code ?? "none", in: checkoutsByCode), default: 0] += 1
    }

    private static func bucket<Value>(_ key: String, in counts: [String: Value]) -> String {
        counts[key] != nil || counts.count < maxKeys ? key : "other"
    }

    func json(chat: ChatRoom, intents: IntentAggregator, now: Int64) -> JSONValue {
        [
            "viewers": ["current": .int(Int64(viewers)), "peak": .int(Int64(peakViewers))],
            "chat": [
                "messages": .int(Int64(chat.accepted)), "refused": .int(Int64(chat.refused)),
                "sampled_out": .int(Int64(chat.sampledOutTotal)),
            ],
            "questions": ["asked": .int(Int64(questionsAsked)), "answered": .int(Int64(questionsAnswered))],
            "checkouts": [
                "by_product": .array(checkoutsByProduct.sorted { $0.key < $1.key }.map {
                    ["product": .string($0.key), "checkouts": .int(Int64($0.value.checkouts)), "units": .int($0.value.units)]
                }),
                "by_attribution_code": .array(checkoutsByCode.sorted { $0.key < $1.key }.map { ["code": .string($0.key), "checkouts": .int(Int64($0.value))] }),
            ],
            "intents": .array(intents.lifetimeTotals().map { product, totals in
                var entry: [String: JSONValue] = ["product": .string(product)]
                for action in IntentAction.allCases { entry[action.rawValue] = .int(Int64(totals[action] ?? 0)) }
                return .object(entry)
            }),
        ]
    }
}
