import HawkerCommerce
import Testing

@Suite("QuestionAggregator")
struct QuestionAggregatorTests {
    typealias Aggregator = QuestionAggregator
    let t0: Int64 = 1_700_000_000_000
    let minute: Int64 = 60_000

    @Test("the lining phrasings merge into one question; waterproof stays apart")
    func liningMerges() {
        var aggregator = Aggregator()
        guard case .created(let first) = aggregator.ask("Is the lining strong?", user: "ana", now: t0) else {
            Issue.record("first phrasing should create")
            return
        }
        #expect(first.id == "q1")
        #expect(first.text == "Is the lining strong?")
        guard case .merged(let second) = aggregator.ask("is the lining strong??", user: "ben", now: t0 + 1),
            case .merged(let third) = aggregator.ask("how strong is the lining", user: "cai", now: t0 + 2)
        else {
            Issue.record("later phrasings should merge")
            return
        }
        #expect(second.id == "q1")
        #expect(third.id == "q1")
        #expect(third.askers == 3)
        #expect(third.text == "Is the lining strong?", "text stays the first phrasing")

        guard case .created(let waterproof) = aggregator.ask("is it waterproof?", user: "dev", now: t0 + 3) else {
            Issue.record("waterproof should be a new question")
            return
        }
        #expect(waterproof.id == "q2")
        #expect(aggregator.count == 2)
        #expect(aggregator.question("q1")?.askers == 3)
        let waterproofTokens = QuestionText.tokens("is it waterproof?")
        for lining in ["Is the lining strong?", "is the lining strong??", "how strong is the lining"] {
            #expect(QuestionText.similarity(QuestionText.tokens(lining), waterproofTokens) < aggregator.configuration.similarityThreshold)
        }
    }

    @Test("the same user asking again is not counted twice")
    func sameUserAsksAgain() {
        var aggregator = Aggregator()
        _ = aggregator.ask("is the lining strong?", user: "ana", now: t0)
        let version = aggregator.version
        let again = aggregator.ask("how strong is the lining??", user: "ana", now: t0 + 5)
        #expect(again == .alreadyAsked(aggregator.question("q1")!))
        #expect(aggregator.question("q1")?.askers == 1)
        #expect(aggregator.question("q1")?.lastActivityAt == t0)
        #expect(aggregator.version == version, "nothing changed")
    }

    @Test("upvotes count once per user, askers' own upvotes are already counted")
    func upvoteDedupe() {
        var aggregator = Aggregator()
        _ = aggregator.ask("is the lining strong?", user: "ana", now: t0)
        _ = aggregator.ask("how strong is the lining", user: "ben", now: t0)

        guard case .counted(let counted) = aggregator.upvote("q1", user: "cai", now: t0 + 1) else {
            Issue.record("first upvote should count")
            return
        }
        #expect(counted.upvotes == 1)
        #expect(counted.askers == 2)
        #expect(aggregator.upvote("q1", user: "cai", now: t0 + 2) == .alreadyCounted(counted))
        #expect(aggregator.upvote("q1", user: "ana", now: t0 + 3) == .alreadyCounted(counted))
        #expect(aggregator.upvote("q1", user: "ben", now: t0 + 3) == .alreadyCounted(counted))
        #expect(aggregator.upvote("q99", user: "cai", now: t0) == .unknownQuestion)
        // An upvoter who then asks the same thing has already been counted too.
        #expect(aggregator.ask("is the lining strong", user: "cai", now: t0 + 4) == .alreadyAsked(counted))
        #expect(aggregator.question("q1")?.upvotes == 1)
    }

    @Test("voter memory is bounded: further new users are refused")
    func votersFull() {
        var aggregator = Aggregator(configuration: .init(maxVotersPerQuestion: 3))
        _ = aggregator.ask("is the lining strong?", user: "u1", now: t0)
        _ = aggregator.upvote("q1", user: "u2", now: t0)
        _ = aggregator.upvote("q1", user: "u3", now: t0)
        let full = aggregator.question("q1")!
        let version = aggregator.version
        #expect(aggregator.upvote("q1", user: "u4", now: t0) == .votersFull(full))
        #expect(aggregator.ask("how strong is the lining", user: "u5", now: t0) == .votersFull(full))
        #expect(aggregator.upvote("q1", user: "u2", now: t0) == .alreadyCounted(full))
        #expect(aggregator.question("q1") == full)
        #expect(aggregator.version == version)
    }

    @Test("one half-life halves the score")
    func halfLife() {
        var aggregator = Aggregator()
        _ = aggregator.ask("is the jacket warm?", user: "v0", now: t0)
        for index in 1..<10 {
            _ = aggregator.upvote("q1", user: "v\(index)", now: t0)
        }
        let question = aggregator.question("q1")!
        #expect(abs(question.score(at: t0) - 10) < 1e-9)
        #expect(abs(question.score(at: t0 + 300_000) - 5) < 1e-9)
        #expect(abs(question.score(at: t0 + 600_000) - 2.5) < 1e-9)
        #expect(question.score(at: t0 - 1_000) == 10, "a clock stepping back does not grow the score")
    }

    @Test("10 votes an hour ago rank below 3 votes now")
    func decayRanking() {
        var aggregator = Aggregator()
        let hourAgo = t0
        let now = t0 + 60 * minute
        _ = aggregator.ask("is the jacket warm?", user: "old0", now: hourAgo)
        for index in 1..<10 {
            _ = aggregator.upvote("q1", user: "old\(index)", now: hourAgo)
        }
        _ = aggregator.ask("does it come in red?", user: "new0", now: now)
        _ = aggregator.upvote("q2", user: "new1", now: now)
        _ = aggregator.upvote("q2", user: "new2", now: now)

        let old = aggregator.question("q1")!
        let fresh = aggregator.question("q2")!
        // Twelve half-lives: 10 / 4096.
        #expect(abs(old.score(at: now) - 10.0 / 4096.0) < 1e-12)
        #expect(fresh.score(at: now) == 3)
        #expect(aggregator.top(now: now).map(\.id) == ["q2", "q1"])
        // Before they decay the old question leads; ten minutes on (2.5 < 3) it already trails.
        #expect(aggregator.top(now: hourAgo).map(\.id) == ["q1", "q2"])
        #expect(old.score(at: hourAgo + 10 * minute) < 3)
    }

    @Test("a later vote adds to the decayed score")
    func voteOnDecayedScore() {
        var aggregator = Aggregator()
        _ = aggregator.ask("is the jacket warm?", user: "a", now: t0)
        _ = aggregator.upvote("q1", user: "b", now: t0 + 300_000)
        let question = aggregator.question("q1")!
        #expect(abs(question.score(at: t0 + 300_000) - 1.5) < 1e-9)
        #expect(question.lastActivityAt == t0 + 300_000)
        #expect(question.askedAt == t0)
    }

    @Test("ties rank the earlier question first, then the lower id")
    func tieBreaks() {
        var aggregator = Aggregator()
        _ = aggregator.ask("is the jacket warm?", user: "a", now: t0 + 10)
        _ = aggregator.ask("does it come in red?", user: "b", now: t0)
        _ = aggregator.ask("is the necklace real gold?", user: "c", now: t0 + 10)
        _ = aggregator.upvote("q1", user: "d", now: t0 + 10)
        _ = aggregator.upvote("q2", user: "e", now: t0 + 10)
        _ = aggregator.upvote("q3", user: "f", now: t0 + 10)
        // q1 and q3 tie exactly (same votes, same times): the lower id leads. q2's first
        // vote is 10 ms older, so it has decayed a hair and trails despite asking first.
        #expect(aggregator.top(now: t0 + 10).map(\.id) == ["q1", "q3", "q2"])
        var tied = Aggregator()
        for (index, text) in ["is the jacket warm?", "does it come in red?", "is the necklace real gold?"].enumerated() {
            _ = tied.ask(text, user: "u\(index)", now: t0)
        }
        #expect(tied.top(now: t0).map(\.id) == ["q1", "q2", "q3"])
        // Same score, different askedAt: earlier wins even though its id is higher.
        var staggered = Aggregator(configuration: .init(halfLifeMilliseconds: 0))
        _ = staggered.ask("is the jacket warm?", user: "a", now: t0 + 5)
        _ = staggered.ask("does it come in red?", user: "b", now: t0)
        #expect(staggered.top(now: t0 + 5).map(\.id) == ["q2", "q1"])
    }

    @Test("top is capped at topCount and excludes answered questions")
    func topExcludesAnswered() throws {
        var aggregator = Aggregator(configuration: .init(topCount: 2))
        for (index, text) in ["is the jacket warm?", "does it come in red?", "is the necklace real gold?"].enumerated() {
            _ = aggregator.ask(text, user: "u\(index)", now: t0 + Int64(index))
        }
        #expect(aggregator.top(now: t0 + 10).count == 2)
        let answer = aggregator.answer("q3", now: t0 + 20)
        let answered = try #require(answer)
        #expect(answered.answered)
        #expect(answered.answeredAt == t0 + 20)
        #expect(!aggregator.top(now: t0 + 30).map(\.id).contains("q3"))
        #expect(aggregator.answer("q42", now: t0) == nil)
    }

    @Test("repeat askers of an answered question merge into it without re-opening it")
    func mergeIntoAnswered() {
        var aggregator = Aggregator()
        _ = aggregator.ask("is the jacket waterproof?", user: "a", now: t0)
        _ = aggregator.answer("q1", now: t0 + minute)
        let version = aggregator.version
        #expect(aggregator.answer("q1", now: t0 + 2 * minute)?.answeredAt == t0 + minute, "answering twice keeps the first time")
        #expect(aggregator.version == version)
        guard case .merged(let merged) = aggregator.ask("Is this jacket waterproof", user: "b", now: t0 + 3 * minute) else {
            Issue.record("should merge into the answered question")
            return
        }
        #expect(merged.id == "q1")
        #expect(merged.answered)
        #expect(merged.askers == 2)
        #expect(aggregator.count == 1)
        #expect(aggregator.top(now: t0 + 3 * minute).isEmpty)
    }

    @Test("a full stream evicts the lowest score")
    func evictsLowestScore() {
        var aggregator = Aggregator(configuration: .init(maxQuestions: 3))
        _ = aggregator.ask("gadget1 sprocket1", user: "a", now: t0)
        _ = aggregator.ask("gadget2 sprocket2", user: "b", now: t0)
        _ = aggregator.ask("gadget3 sprocket3", user: "c", now: t0)
        _ = aggregator.upvote("q1", user: "x", now: t0)
        _ = aggregator.upvote("q3", user: "x", now: t0)
        _ = aggregator.ask("gadget4 sprocket4", user: "d", now: t0 + 1)
        #expect(aggregator.count == 3)
        #expect(aggregator.question("q2") == nil)
        #expect(aggregator.question("q4") != nil)
        #expect(aggregator.upvote("q2", user: "y", now: t0 + 2) == .unknownQuestion)
    }

    @Test("answered questions are evicted before unanswered ones")
    func evictsAnsweredFirst() {
        var aggregator = Aggregator(configuration: .init(maxQuestions: 2))
        _ = aggregator.ask("gadget1 sprocket1", user: "a", now: t0)
        for index in 0..<5 {
            _ = aggregator.upvote("q1", user: "fan\(index)", now: t0)
        }
        _ = aggregator.ask("gadget2 sprocket2", user: "b", now: t0)
        _ = aggregator.answer("q1", now: t0 + 1)
        _ = aggregator.ask("gadget3 sprocket3", user: "c", now: t0 + 2)
        #expect(aggregator.question("q1") == nil, "answered, although it had the higher score")
        #expect(aggregator.question("q2") != nil)
        #expect(aggregator.question("q3") != nil)
    }

    @Test("asking more than maxQuestions distinct questions keeps maxQuestions")
    func boundedAtDefault() {
        var aggregator = Aggregator()
        for index in 1...250 {
            let result = aggregator.ask("gadget\(index) sprocket\(index)?", user: "u\(index)", now: t0 + Int64(index) * 1_000)
            #expect(result == .created(aggregator.question("q\(index)")!))
        }
        #expect(aggregator.count == 100)
        // The oldest have decayed lowest and went first.
        #expect(aggregator.question("q150") == nil)
        #expect(aggregator.question("q151") != nil)
        #expect(aggregator.question("q250") != nil)
    }

    @Test("kept variants let a later phrasing match an earlier merged one")
    func variants() {
        func run(maxVariants: Int) -> QuestionAggregator.AskResult {
            var aggregator = Aggregator(configuration: .init(maxVariantsPerQuestion: maxVariants))
            _ = aggregator.ask("alpha beta", user: "a", now: t0)
            _ = aggregator.ask("alpha beta gamma delta", user: "b", now: t0)
            return aggregator.ask("gamma delta", user: "c", now: t0)
        }
        #expect(run(maxVariants: 4).question?.id == "q1")
        #expect(run(maxVariants: 1).question?.id == "q2")
    }

    @Test(
        "invalid input is rejected without a change",
        arguments: [
            ("", QuestionAggregator.RejectionReason.empty),
            ("   \n\t ", .empty),
            (String(repeating: "a", count: 301), .tooLong),
            ("is it the?", .noMeaningfulWords),
            ("?!?!", .noMeaningfulWords),
            ("🙏🙏🙏", .noMeaningfulWords),
            ("hey can you tell me please??", .noMeaningfulWords),
        ])
    func rejects(input: (String, QuestionAggregator.RejectionReason)) {
        var aggregator = Aggregator()
        #expect(aggregator.ask(input.0, user: "a", now: t0) == .rejected(input.1))
        #expect(aggregator.count == 0)
        #expect(aggregator.version == 0)
    }

    @Test("length is counted after trimming, in characters")
    func lengthLimit() {
        var aggregator = Aggregator()
        let exactly300 = "  " + String(repeating: "é", count: 300) + "  "
        #expect(aggregator.ask(exactly300, user: "a", now: t0).question != nil)
    }

    @Test("version moves on every change and only then")
    func versionTracking() {
        var aggregator = Aggregator()
        #expect(aggregator.version == 0)
        _ = aggregator.ask("is the jacket warm?", user: "a", now: t0)
        #expect(aggregator.version == 1)
        _ = aggregator.ask("how warm is this jacket", user: "b", now: t0)
        #expect(aggregator.version == 2)
        _ = aggregator.upvote("q1", user: "c", now: t0)
        #expect(aggregator.version == 3)
        _ = aggregator.upvote("q1", user: "c", now: t0)
        _ = aggregator.upvote("q9", user: "c", now: t0)
        _ = aggregator.ask("", user: "d", now: t0)
        _ = aggregator.top(now: t0 + 10 * minute)
        #expect(aggregator.version == 3)
        _ = aggregator.answer("q1", now: t0)
        #expect(aggregator.version == 4)
    }
}
