import HawkerCommerce
import HawkerProtocol
import Testing

@Suite("StreamRoom")
struct StreamRoomTests {
    let now: Int64 = 1_732_660_000_000

    private func room(_ configure: (inout RoomConfiguration) -> Void = { _ in }) throws -> StreamRoom {
        var configuration = RoomConfiguration()
        configure(&configuration)
        var room = StreamRoom(configuration: configuration)
        _ = try room.apply(catalog(product("a", variants: ["s", "m"]), product("b")), now: now)
        return room
    }

    private func reply(_ result: Result<RoomReply, RoomError>) throws -> RoomReply {
        try result.get()
    }

    private func code(_ result: Result<RoomReply, RoomError>) -> ErrorCode? {
        if case .failure(let error) = result { return error.code }
        return nil
    }

    private func pushes(_ tick: RoomTick, _ type: String) -> [RoomPush] {
        tick.pushes.filter { $0.type.rawValue == type }
    }

    @Test func chatGoesOutOncePerTickAsOneBatch() throws {
        var room = try room()
        let accepted = try reply(room.perform(.chat(text: "love it"), by: viewer, now: now))
        #expect(accepted.type == .chatAccepted)
        #expect(accepted.body["message"]?["text"] == "love it")
        #expect(accepted.body["message"]?["name"] == "Vi")
        _ = room.perform(.chat(text: "me too"), by: host, now: now)
        let tick = room.tick(now: now + 100)
        let chat = try #require(pushes(tick, "chat").first)
        #expect(chat.audience == .everyone)
        #expect(chat.coalescingKey == nil)
        #expect(chat.itemCount == 2)
        #expect(chat.body["messages"]?.arrayValue?.map { $0["text"] } == ["love it", "me too"])
        #expect(pushes(room.tick(now: now + 200), "chat").isEmpty)
    }

    @Test func chatQuestionsJoinTheQuestionListAndTopGoesOutOnlyWhenItChanged() throws {
        var room = try room { $0.questionsToViewers = false }
        let sent = try reply(room.perform(.chat(text: "Is the lining strong?"), by: viewer, now: now))
        #expect(sent.body["message"]?["kind"] == "question")
        let asked = try reply(room.perform(.ask(text: "how strong is the lining"), by: Author(user: "v2", name: nil, role: "viewer", isStaff: false), now: now))
        #expect(asked.type == .questionAccepted)
        #expect(asked.body["merged"] == true)
        #expect(asked.body["question"]?["askers"] == 2)

        let first = room.tick(now: now + 100)
        let top = try #require(pushes(first, "questions.top").first)
        #expect(top.audience == .staff)
        #expect(top.coalescingKey == "questions.top")
        #expect(top.body["questions"]?.arrayValue?.count == 1)
        #expect(pushes(room.tick(now: now + 200), "questions.top").isEmpty)

        let id = try #require(top.body["questions"]?.arrayValue?.first?["id"]?.stringValue)
        let upvote = try reply(room.perform(.upvote(question: id), by: Author(user: "v3", name: nil, role: "viewer", isStaff: false), now: now))
        #expect(upvote.body["counted"] == true)
        let again = try reply(room.perform(.upvote(question: id), by: viewer, now: now))
        #expect(again.body["counted"] == false)  // viewer-1 asked it already
        #expect(pushes(room.tick(now: now + 300), "questions.top").count == 1)
        #expect(code(room.perform(.upvote(question: "q99"), by: viewer, now: now)) == .unknownQuestion)
    }

    @Test func answeringMakesAnEventAndIsForStaffOnly() throws {
        var room = try room()
        let asked = try reply(room.perform(.ask(text: "Does it come in blue?"), by: viewer, now: now))
        let id = try #require(asked.body["question"]?["id"]?.stringValue)
        #expect(code(room.perform(.answer(question: id, answer: nil), by: viewer, now: now)) == .forbidden)
        let answered = try reply(room.perform(.answer(question: id, answer: "Yes, navy"), by: host, now: now))
        let event = try #require(answered.event)
        #expect(event.kind == .questionAnswered)
        #expect(event.stateKey == "question:\(id)")
        #expect(event.data["text"] == "Does it come in blue?")
        #expect(event.data["answer"] == "Yes, navy")
        #expect(room.insights.questionsAnswered == 1)
        #expect(code(room.perform(.answer(question: "nope", answer: nil), by: host, now: now)) == .unknownQuestion)
    }

    @Test func intentsAreCheckedAgainstTheCatalogAndSummarisedForStaff() throws {
        var room = try room()
        #expect(code(room.perform(.intent(product: "zz", variant: nil, action: .view), by: viewer, now: now)) == .unknownProduct)
        #expect(code(room.perform(.intent(product: "a", variant: "xl", action: .view), by: viewer, now: now)) == .unknownVariant)
        for user in 0..<3 {
            let author = Author(user: "u\(user)", name: nil, role: "viewer", isStaff: false)
            #expect(try reply(room.perform(.intent(product: "a", variant: "m", action: .addToCart), by: author, now: now)).type == .intentRecorded)
        }
        let tick = room.tick(now: now + 100)
        let summary = try #require(pushes(tick, "intents.summary").first)
        #expect(summary.audience == .staff)
        let line = try #require(summary.body["products"]?.arrayValue?.first)
        #expect(line["product"] == "a")
        #expect(line["actions"]?["add_to_cart"]?["last_minute"] == 3)
        #expect(line["cart_users_last_minute"] == 3)
        let proof = try #require(pushes(tick, "social_proof").first)
        #expect(proof.audience == .everyone)
        #expect(proof.body["products"] == [["product": "a", "added_last_minute": 3]])

        // Social proof waits for its interval; the staff summary goes out every tick it changed.
        _ = room.perform(.intent(product: "b", variant: nil, action: .addToCart), by: viewer, now: now + 150)
        let next = room.tick(now: now + 200)
        #expect(pushes(next, "intents.summary").count == 1)
        #expect(pushes(next, "social_proof").isEmpty)
        #expect(pushes(room.tick(now: now + 5_100), "social_proof").count == 1)
        #expect(room.insightsJSON(now: now)["intents"]?.arrayValue?.first?["add_to_cart"] == 3)
    }

    @Test func presenceIsPushedAtMostEveryInterval() throws {
        var room = try room()
        room.viewersChanged(to: 5)
        let first = room.tick(now: now)
        #expect(pushes(first, "presence").first?.body["viewers"] == 5)
        room.viewersChanged(to: 6)
        #expect(room.needsTick(now: now + 100))
        #expect(pushes(room.tick(now: now + 100), "presence").isEmpty)
        #expect(pushes(room.tick(now: now + 2_000), "presence").first?.body["viewers"] == 6)
        #expect(!room.needsTick(now: now + 2_100))
        room.viewersChanged(to: 2)
        #expect(room.insights.peakViewers == 6)
    }

    @Test func theStateHoldsCatalogSaleCountdownViewersAndQuestions() throws {
        var room = try room()
        _ = try room.apply(draft(.productPinned, ["product": "a"]), now: now)
        _ = try room.apply(draft(.saleStarted, ["sale": "flash", "items": [["product": "a", "price": 700]], "duration_ms": 600_000]), now: now)
        _ = room.perform(.ask(text: "Is it machine washable?"), by: viewer, now: now)
        room.viewersChanged(to: 12)
        let state = room.stateJSON(now: now + 60_000)
        #expect(state["pinned"] == ["a"])
        #expect(state["viewers"] == 12)
        #expect(state["sales"]?.arrayValue?.first?["remaining_ms"] == 540_000)
        #expect(state["sales"]?.arrayValue?.first?["status"] == "active")
        #expect(state["questions"]?.arrayValue?.first?["text"] == "Is it machine washable?")
        #expect(state["catalog"]?.arrayValue?.map { $0["id"] } == ["a", "b"])
    }

    @Test func dueSalesComeOutOfTheTick() throws {
        var room = try room()
        _ = try room.apply(draft(.saleScheduled, ["sale": "later", "items": [["product": "b", "price": 500]], "starts_at": .int(now + 1_000), "duration_ms": 1_000]), now: now)
        #expect(room.hasScheduledWork)
        #expect(room.tick(now: now + 500).events.isEmpty)
        #expect(room.tick(now: now + 1_000).events.map(\.kind) == [.saleStarted])
        #expect(room.tick(now: now + 2_000).events.map(\.kind) == [.saleEnded])
        #expect(!room.hasScheduledWork)
    }

    @Test func moderationIsForStaff() throws {
        var room = try room()
        #expect(code(room.perform(.moderate(.ban(user: "x")), by: viewer, now: now)) == .forbidden)
        let done = try reply(room.perform(.moderate(.ban(user: "x")), by: host, now: now))
        #expect(done.type == .moderated)
        #expect(done.body["action"] == "ban_user")
        let banned = Author(user: "x", name: nil, role: "viewer", isStaff: false)
        #expect(code(room.perform(.chat(text: "hi"), by: banned, now: now)) == .banned)
        #expect(code(room.perform(.ask(text: "is it real?"), by: banned, now: now)) == .banned)
        _ = try reply(room.perform(.moderate(.timeout(user: "y", durationMilliseconds: 60_000)), by: host, now: now))
        let quiet = Author(user: "y", name: nil, role: "viewer", isStaff: false)
        #expect(code(room.perform(.ask(text: "is it real?"), by: quiet, now: now)) == .timedOut)
    }

    @Test func askingCountsAgainstTheChatRate() throws {
        var room = try room()
        // The default burst is 5 messages per user; questions and chat share it.
        for index in 0..<3 { _ = try reply(room.perform(.chat(text: "hello \(index)"), by: viewer, now: now)) }
        for index in 0..<2 { _ = try reply(room.perform(.ask(text: "does it come in size \(index + 30)?"), by: viewer, now: now)) }
        #expect(code(room.perform(.ask(text: "is it warm?"), by: viewer, now: now)) == .rateLimited)
    }
}
