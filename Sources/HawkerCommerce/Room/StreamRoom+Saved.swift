import Foundation
import HawkerProtocol

extension StreamRoom {
    /// What a restart brings back of a room, in the store's bytes: commerce state,
    /// questions, moderation, lifetime counters. Left out, because they last seconds or
    /// come back by themselves: chat batches and rate buckets, the 1- and 5-minute intent
    /// windows, the viewer count, remembered refusals (a retried refused checkout is
    /// checked again; accepted ones are answered from the outbox).
    struct Saved: Codable {
        /// Bumped when a change would misread older bytes.
        var format = 1
        var commerce: CommerceState.Saved
        var chat: ChatRoom.Saved
        var questions: QuestionAggregator.Saved
        var intents: IntentAggregator.Saved
        var insights: Insights.Saved
    }

    /// The room as bytes for a `StateStore`.
    public func save() -> [UInt8] {
        let saved = Saved(commerce: commerce.saved, chat: chat.saved, questions: questions.saved, intents: intents.saved, insights: insights.saved)
        let encoder = JSONEncoder()
        // Keys in order: the same room saves as the same bytes, up to the order of sets.
        encoder.outputFormatting = [.sortedKeys]
        // Encoding plain value types cannot fail.
        return [UInt8]((try? encoder.encode(saved)) ?? Data())
    }

    /// The room `save()` described, under today's configuration; nil when the bytes are
    /// not a saved room of a format this build reads.
    public init?(restoring bytes: [UInt8], configuration: RoomConfiguration, seed: UInt64, stock: any StockSource = LocalStock()) {
        guard let saved = try? JSONDecoder().decode(Saved.self, from: Data(bytes)), saved.format == 1 else { return nil }
        self.init(configuration: configuration, seed: seed, stock: stock)
        commerce = CommerceState(restoring: saved.commerce, limits: configuration.commerce, stock: stock)
        chat = ChatRoom(restoring: saved.chat, configuration: configuration.chatPerBatch, seed: seed)
        questions = QuestionAggregator(restoring: saved.questions, configuration: configuration.questions)
        intents = IntentAggregator(restoring: saved.intents, configuration: configuration.intents)
        insights = Insights(restoring: saved.insights)
    }

    /// Replays an event sequenced after the save (restoring after a `kill -9`): the
    /// commerce state moves as it did then, at the time it did. Returns false when the
    /// room refused it (a room limit lowered since, a damaged event): the room then stays
    /// as it was before that event.
    @discardableResult
    public mutating func replay(_ draft: EventDraft, at timestamp: Int64) -> Bool {
        var replayed = true
        // Stock levels are restored where they live, exactly: a replayed level (often an
        // old one) must not set them again. The products show the restored levels.
        switch draft.kind {
        case .stockChanged:
            // Every stock.changed carries the product's threshold then (a host may set it).
            if let id = draft.data["product"]?.stringValue, let threshold = draft.data["low_stock_threshold"]?.intValue, var product = commerce.catalog[id] {
                product.lowStockThreshold = threshold
                commerce.catalog[id] = product
            }
        case .catalogSet:
            var data = draft.data
            data["products"] = .array(Self.objects(data["products"]).map { Self.withoutStock($0) })
            replayed = (try? commerce.apply(draft.withData(data), now: timestamp)) != nil
        case .productUpsert:
            var data = draft.data
            data["product"] = Self.withoutStock(data["product"]?.objectValue ?? [:])
            replayed = (try? commerce.apply(draft.withData(data), now: timestamp)) != nil
        case .saleStarted:
            // A scheduled sale started by its id: started the same way again. The event
            // carries the whole sale, which defined anew would be checked against today's
            // prices, products and longest duration, and may not pass.
            let id = draft.data["sale"]?.stringValue ?? ""
            let started = commerce.sales[id].flatMap { $0.status == .scheduled ? $0.started(at: timestamp).data == draft.data : nil } ?? false
            replayed = (try? commerce.apply(started ? draft.withData(["sale": .string(id)]) : draft, now: timestamp)) != nil
        default:
            replayed = (try? commerce.apply(draft, now: timestamp)) != nil
        }
        if draft.kind == .questionAnswered, let id = draft.data["question"]?.stringValue {
            _ = questions.answer(id, now: timestamp)
        }
        return replayed
    }

    /// Shows every product's stock as its stock source has it now (after a restore).
    public mutating func refreshAllStock() {
        _ = commerce.refreshStock(of: commerce.catalog.all.map(\.id))
    }

    private static func withoutStock(_ object: [String: JSONValue]) -> JSONValue {
        var object = object
        object["stock"] = nil
        if case .array(let variants) = object["variants"] ?? .null {
            object["variants"] = .array(
                variants.map { entry in
                    guard var variant = entry.objectValue else { return entry }
                    variant["stock"] = nil
                    return .object(variant)
                })
        }
        return .object(object)
    }

    private static func objects(_ value: JSONValue?) -> [[String: JSONValue]] {
        guard case .array(let values) = value ?? .null else { return [] }
        return values.compactMap(\.objectValue)
    }
}
