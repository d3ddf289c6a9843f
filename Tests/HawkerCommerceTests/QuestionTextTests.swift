import HawkerCommerce
import Testing

@Suite("QuestionText")
struct QuestionTextTests {
    @Test("tokens drop case, punctuation, emoji and stop words")
    func tokensNormalise() {
        #expect(QuestionText.tokens("Is the lining strong??") == ["lining", "strong"])
        #expect(QuestionText.tokens("how strong is the lining") == ["lining", "strong"])
        #expect(QuestionText.tokens("Lining strong? 🙏") == ["lining", "strong"])
        #expect(QuestionText.tokens("What's the song?") == ["song"])
        #expect(QuestionText.tokens("hey can you tell me please") == [])
        #expect(QuestionText.tokens("?? !!") == [])
    }

    @Test("accents fold and hyphens split")
    func accentsAndHyphens() {
        #expect(QuestionText.tokens("CAFÉ crème") == QuestionText.tokens("cafe creme"))
        #expect(QuestionText.tokens("Is this dishwasher-safe") == QuestionText.tokens("dishwasher safe?"))
    }

    @Test(
        "light stemming joins inflections",
        arguments: [
            ("pockets", "pocket"), ("boxes", "box"), ("strawberries", "strawberry"), ("shoes", "shoe"),
            ("stitches", "stitching"), ("shipping", "ship"), ("sizes", "size"), ("picked", "pick"),
            ("internationally", "international"), ("cancellation", "cancelling"), ("dresses", "dress"),
        ])
    func stemming(pair: (String, String)) {
        #expect(QuestionText.tokens(pair.0) == QuestionText.tokens(pair.1))
    }

    @Test("short and root-doubled words keep their shape")
    func stemmingGuards() {
        #expect(QuestionText.tokens("red") == ["red"])
        #expect(QuestionText.tokens("glass") == ["glass"])
        #expect(QuestionText.tokens("lining") == ["lining"])
        #expect(QuestionText.tokens("foundation") == ["foundation"])
        #expect(QuestionText.tokens("iphone 15") == ["iphon", "15"])
    }

    @Test("similarity: identical, disjoint, empty, symmetric")
    func similarityBasics() {
        let a: Set<String> = ["jacket", "waterproof"]
        let b: Set<String> = ["jacket", "warm"]
        #expect(QuestionText.similarity(a, a) == 1)
        #expect(QuestionText.similarity(a, ["hood"]) == 0)
        #expect(QuestionText.similarity(a, []) == 0)
        #expect(QuestionText.similarity([], []) == 0)
        #expect(QuestionText.similarity(a, b) == QuestionText.similarity(b, a))
    }

    @Test("similarity: a swapped word costs full Jaccard, an added word half")
    func similarityWeights() {
        // Swap: plain Jaccard, 2 / 4.
        #expect(QuestionText.similarity(["pan", "dishwasher", "safe"], ["pan", "oven", "safe"]) == 0.5)
        // Additions: 2 / (2 + 0.5 * 2).
        #expect(abs(QuestionText.similarity(["lining", "strong"], ["lining", "inside", "strong", "enough"]) - 2.0 / 3.0) < 1e-12)
        #expect(abs(QuestionText.similarity(["waterproof"], ["jacket", "waterproof"]) - 2.0 / 3.0) < 1e-12)
        // Sharing only a degree word earns no discount: "how much?" vs "how much is shipping".
        #expect(QuestionText.similarity(["much"], ["much", "ship"]) == 0.5)
    }

    @Test(
        "looks like a question",
        arguments: [
            "is the lining strong?", "Lining strong? 🙏", "hey is the lining inside strong enough",
            "what size are you wearing", "any discount codes today", "can you show the back",
            "so how long does shipping take", "price?", "where are you based",
        ])
    func looksLikeQuestion(text: String) {
        #expect(QuestionText.looksLikeQuestion(text))
        // A trailing emoji sends the text down the general (non-ASCII) path: same answer.
        #expect(QuestionText.looksLikeQuestion(text + " 🙂"))
        #expect(QuestionText.looksLikeQuestion("¿" + text))
    }

    @Test(
        "does not look like a question",
        arguments: [
            "love this dress", "what a gorgeous colour!", "hi from Texas", "", "   ",
            "show the back please", "🔥🔥🔥", "ordered 2!",
        ])
    func notAQuestion(text: String) {
        #expect(!QuestionText.looksLikeQuestion(text))
        #expect(!QuestionText.looksLikeQuestion(text + " 🙂"))
        #expect(!QuestionText.looksLikeQuestion("really?!") == false)
    }
}
