import HawkerProtocol

/// A stream's lifetime counters for `GET /v1/streams/{id}/insights`.
public struct Insights: Sendable, Hashable {
    public var viewers = 0
    public var peakViewers = 0
    public var chatMessages = 0
    public var questionsAsked = 0
    public var questionsAnswered = 0

    func json(chat: ChatRoom, intents: IntentAggregator, now: Int64) -> JSONValue {
        [
            "viewers": ["current": .int(Int64(viewers)), "peak": .int(Int64(peakViewers))],
            "chat": [
                "messages": .int(Int64(chat.accepted)), "refused": .int(Int64(chat.refused)),
                "sampled_out": .int(Int64(chat.sampledOutTotal)),
            ],
            "questions": ["asked": .int(Int64(questionsAsked)), "answered": .int(Int64(questionsAnswered))],
            "intents": .array(intents.lifetimeTotals().map { product, totals in
                var entry: [String: JSONValue] = ["product": .string(product)]
                for action in IntentAction.allCases { entry[action.rawValue] = .int(Int64(totals[action] ?? 0)) }
                return .object(entry)
            }),
        ]
    }
}
