import ArgumentParser
import Foundation
import HawkerCommerce
import HawkerProtocol

/// In-process cost of the room's per-message work: chat filtering and batching, question
/// merging, intent counting. No sockets: nanoseconds per message on this machine.
struct Aggregators: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cost per message of chat, question and intent aggregation (in-process).")

    @Option(help: "Messages per run.") var messages = 200_000
    @Option(help: "Runs; the median is reported.") var runs = 5
    @Option(help: "Write the result as JSON to this file (and an HTML report beside it).") var json: String?

    func run() async throws {
        var results: [AggregatorResult] = []
        results.append(
            measure("chat_send_ns", "chat.send (filter, limits, batch; tick every 1,000)") { count in
                var room = ChatRoom(configuration: .init(messagesPerSecond: 1_000, burst: 1_000, bannedWords: ["scam", "free money"]))
                let texts = Self.chatTexts
                for index in 0..<count {
                    let author = Author(user: "u\(index % 5_000)", name: nil, role: "viewer", isStaff: false)
                    _ = room.send(texts[index % texts.count], from: author, now: 1_000_000 + Int64(index / 100))
                    if index % 1_000 == 999 { _ = room.drain() }
                }
            })
        results.append(
            measure("question_ask_ns", "question.ask (merge into up to 100 questions)") { count in
                var questions = QuestionAggregator()
                let texts = Self.questionTexts
                for index in 0..<count {
                    _ = questions.ask(texts[index % texts.count], user: "u\(index)", now: 1_000_000 + Int64(index / 100))
                }
            })
        results.append(
            measure("intent_ns", "intent (1 and 5 minute windows, distinct users)") { count in
                var intents = IntentAggregator()
                let actions: [IntentAction] = [.view, .addToCart, .view, .removeFromCart]
                for index in 0..<count {
                    _ = intents.record(product: "p\(index % 50)", variant: nil, action: actions[index % actions.count], user: "u\(index % 20_000)", now: 1_000_000 + Int64(index / 10))
                }
            })
        results.append(
            measure("room_chat_ns", "room: chat.send + tick every 100 ms of messages at 50k/s") { count in
                var room = StreamRoom()
                for index in 0..<count {
                    let author = Author(user: "u\(index % 5_000)", name: nil, role: "viewer", isStaff: false)
                    let now = 1_000_000 + Int64(index / 50)
                    _ = room.perform(.chat(text: Self.chatTexts[index % Self.chatTexts.count]), by: author, now: now)
                    if index % 5_000 == 4_999 { _ = room.tick(now: now) }
                }
            })
        var result = LoadResult(scenario: "aggregators")
        result.parameter("messages", "messages per run", Double(messages))
        result.parameter("runs", "runs (median)", Double(runs))
        for work in results {
            result.figure(work.name, work.label, work.nanosecondsPerMessage, unit: "ns/message", .lowerIsBetter)
        }
        try finish(result, json: json)
    }

    private func measure(_ name: String, _ label: String, _ body: (Int) -> Void) -> AggregatorResult {
        body(messages / 10)  // warm up
        var samples: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            body(messages)
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(messages))
        }
        samples.sort()
        return AggregatorResult(name: name, label: label, nanosecondsPerMessage: samples[samples.count / 2])
    }

    /// Chat as it looks in a busy show: short, some questions, some links, some emoji.
    static let chatTexts = [
        "love this colour!!", "does it come in blue?", "how long is shipping to Austria", "just ordered two 😍",
        "what size are you wearing", "the lining looks great", "link pls www.example.com/deal", "hi from Lyon 👋",
        "is it machine washable?", "ok that price drop 🔥", "can you show the back", "Größe M noch da?",
    ]

    static let questionTexts: [String] = {
        let subjects = ["jacket", "boots", "scarf", "honey", "blender", "lipstick", "kettle", "dress", "sneakers", "phone case"]
        let asks = [
            "is the %@ waterproof?", "does the %@ come in blue", "how long is shipping for the %@", "what size is the %@ you are wearing",
            "is the %@ machine washable??", "can you show the back of the %@", "Is the %@ good for gifts?", "how much is the %@ with the discount",
            "what is the %@ made of", "does the %@ run small",
        ]
        return subjects.flatMap { subject in asks.map { String(format: $0, subject) } }
    }()
}

struct AggregatorResult {
    var name: String
    var label: String
    var nanosecondsPerMessage: Double
}
