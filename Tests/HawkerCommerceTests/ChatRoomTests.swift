import HawkerCommerce
import HawkerProtocol
import Testing

@Suite("ChatRoom")
struct ChatRoomTests {
    let now: Int64 = 1_732_660_000_000

    private func author(_ user: String, staff: Bool = false) -> Author {
        Author(user: user, name: nil, role: staff ? "moderator" : "viewer", isStaff: staff)
    }

    private func code(_ result: Result<ChatRoom.Sent, RoomError>) -> ErrorCode? {
        if case .failure(let error) = result { return error.code }
        return nil
    }

    private func message(_ result: Result<ChatRoom.Sent, RoomError>) -> ChatMessage? {
        switch result {
        case .success(.accepted(let message)), .success(.shadowed(let message)): return message
        case .failure: return nil
        }
    }

    @Test func validationAndFiltering() {
        var room = ChatRoom(configuration: .init(maxLength: 20, bannedWords: ["scam"]))
        #expect(code(room.send("   ", from: author("a"), now: now)) == .invalidMessage)
        #expect(code(room.send(String(repeating: "x", count: 21), from: author("a"), now: now)) == .invalidMessage)
        #expect(code(room.send("hi\u{7}", from: author("a"), now: now)) == .invalidMessage)
        #expect(code(room.send("what a SCÄM", from: author("a"), now: now)) == .messageBlocked)
        #expect(message(room.send("see www.x.com", from: author("a"), now: now))?.text == "see [link removed]")
        #expect(message(room.send("see www.x.com", from: author("m", staff: true), now: now))?.text == "see www.x.com")
        #expect(room.refused == 4)
        #expect(room.accepted == 2)
    }

    @Test func perUserRateAndSlowMode() {
        var room = ChatRoom(configuration: .init(messagesPerSecond: 1, burst: 3))
        for _ in 0..<3 { #expect(message(room.send("hi", from: author("a"), now: now)) != nil) }
        guard case .failure(let limited) = room.send("hi", from: author("a"), now: now) else {
            Issue.record("expected rate_limited")
            return
        }
        #expect(limited.code == .rateLimited)
        #expect(limited.retryAfterMilliseconds == 1_000)
        // Another user has their own bucket; staff have none.
        #expect(message(room.send("hi", from: author("b"), now: now)) != nil)
        for _ in 0..<10 { #expect(message(room.send("hi", from: author("mod", staff: true), now: now)) != nil) }
        #expect(message(room.send("hi", from: author("a"), now: now + 1_000)) != nil)

        _ = room.moderate(.slowMode(intervalMilliseconds: 10_000), now: now)
        #expect(message(room.send("one", from: author("c"), now: now)) != nil)
        guard case .failure(let slow) = room.send("two", from: author("c"), now: now + 4_000) else {
            Issue.record("expected slow mode")
            return
        }
        #expect(slow.code == .rateLimited)
        #expect(slow.retryAfterMilliseconds == 6_000)
        #expect(message(room.send("three", from: author("c"), now: now + 10_000)) != nil)
        #expect(message(room.send("staff", from: author("mod", staff: true), now: now + 10_001)) != nil)
    }

    @Test func bansTimeoutsAndShadowBans() {
        var room = ChatRoom()
        _ = room.moderate(.ban(user: "troll"), now: now)
        #expect(code(room.send("hi", from: author("troll"), now: now)) == .banned)
        _ = room.moderate(.unban(user: "troll"), now: now)
        #expect(message(room.send("sorry", from: author("troll"), now: now)) != nil)

        _ = room.moderate(.timeout(user: "loud", durationMilliseconds: 60_000), now: now)
        guard case .failure(let timedOut) = room.send("hi", from: author("loud"), now: now + 10_000) else {
            Issue.record("expected timed_out")
            return
        }
        #expect(timedOut.code == .timedOut)
        #expect(timedOut.retryAfterMilliseconds == 50_000)
        #expect(message(room.send("back", from: author("loud"), now: now + 60_000)) != nil)

        _ = room.moderate(.shadowBan(user: "spam"), now: now)
        guard case .success(.shadowed(let shadowed)) = room.send("buy followers", from: author("spam"), now: now) else {
            Issue.record("a shadow-banned user is told the message was accepted")
            return
        }
        #expect(shadowed.text == "buy followers")
        let batch = room.drain()
        #expect(batch?.messages.map(\.author.user) == ["troll", "loud"])
    }

    @Test func banningPurgesPendingMessagesAndDeleteReachesViewers() throws {
        var room = ChatRoom()
        let sent = room.send("hello", from: author("a"), now: now)
        let kept = try #require(message(sent))
        _ = room.send("rude", from: author("b"), now: now)
        _ = room.moderate(.ban(user: "b"), now: now)
        let drainedFirst = room.drain()
        let first = try #require(drainedFirst)
        #expect(first.messages.map(\.id) == [kept.id])
        #expect(first.deleted.isEmpty)

        // Deleting a message that already went out tells everyone in the next batch.
        guard case .success = room.moderate(.deleteMessage(kept.id), now: now) else {
            Issue.record("delete failed")
            return
        }
        let drainedSecond = room.drain()
        let second = try #require(drainedSecond)
        #expect(second.messages.isEmpty)
        #expect(second.deleted == [kept.id])
        guard case .failure(let unknown) = room.moderate(.deleteMessage(kept.id), now: now) else {
            Issue.record("a deleted message cannot be deleted twice")
            return
        }
        #expect(unknown.code == .unknownMessage)
        #expect(room.drain() == nil)
    }

    /// Above the cap, ordinary messages are sampled; staff, questions and purchase
    /// highlights never are — whatever the random draw.
    @Test(arguments: [1, 2, 3, 42, 1_000] as [UInt64])
    func samplingNeverDropsProtectedMessages(seed: UInt64) throws {
        var room = ChatRoom(configuration: .init(messagesPerSecond: 100, burst: 100, visiblePerBatch: 5), seed: seed)
        var protected: [String] = []
        for index in 0..<200 {
            _ = room.send("msg \(index)", from: author("u\(index % 50)"), now: now)
            if index % 20 == 0 {
                let note = room.send("host note \(index)", from: author("host", staff: true), now: now)
                let question = room.send("is it warm \(index)?", from: author("q\(index)"), kind: .question, now: now)
                protected.append(try #require(message(note)).id)
                protected.append(try #require(message(question)).id)
                protected.append(room.post("someone bought \(index)", kind: .purchase, now: now).id)
            }
        }
        let drainedBatch = room.drain()
        let batch = try #require(drainedBatch)
        let ids = batch.messages.map(\.id)
        #expect(Set(protected).isSubset(of: Set(ids)))
        #expect(batch.messages.filter { !$0.isProtected }.count == 5)
        #expect(batch.sampledOut == 195)
        // In acceptance order.
        #expect(ids == ids.sorted { Int($0.dropFirst())! < Int($1.dropFirst())! })
    }

    /// Reservoir sampling keeps every ordinary message with the same chance.
    @Test func samplingIsUniform() {
        var kept = Array(repeating: 0, count: 50)
        for seed in 1...400 as ClosedRange<UInt64> {
            var room = ChatRoom(configuration: .init(messagesPerSecond: 100, burst: 100, visiblePerBatch: 5), seed: seed)
            for index in 0..<50 { _ = room.send("\(index)", from: author("u\(index)"), now: now) }
            for message in room.drain()?.messages ?? [] { kept[Int(message.text)!] += 1 }
        }
        // Each message is kept 400 × 5/50 = 40 times on average.
        #expect(kept.reduce(0, +) == 2_000)
        #expect(kept.allSatisfy { (15...70).contains($0) }, "\(kept)")
        #expect(kept.prefix(5).reduce(0, +) < 400)
    }

    @Test func perStreamBannedWordsAddToTheServersList() {
        var room = ChatRoom(configuration: .init(bannedWords: ["scam"]))
        _ = room.moderate(.bannedWords(["knockoff"]), now: now)
        #expect(code(room.send("a Knockoff!", from: author("a"), now: now)) == .messageBlocked)
        #expect(code(room.send("scam", from: author("b"), now: now)) == .messageBlocked)
        _ = room.moderate(.bannedWords([]), now: now)
        #expect(code(room.send("a knockoff", from: author("c"), now: now)) == nil)
    }
}
