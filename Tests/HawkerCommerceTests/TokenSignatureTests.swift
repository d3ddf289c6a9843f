import Testing

@testable import HawkerCommerce

/// The aggregator compares questions by hashed signatures; they must score every pair of
/// the labelled fixture exactly as the token-set formula does.
@Suite struct TokenSignatureTests {
    @Test func signaturesScoreLikeTokenSets() throws {
        let texts = try QuestionFixture.load().clusters.flatMap { $0.phrasings(includingParaphrases: true) }
        let tokens = texts.map(QuestionText.tokens)
        let signatures = tokens.map(TokenSignature.init)
        var pairs = 0
        for i in tokens.indices {
            for j in tokens.indices {
                #expect(signatures[i].similarity(to: signatures[j]) == QuestionText.similarity(tokens[i], tokens[j]), "\(texts[i]) / \(texts[j])")
                pairs += 1
            }
        }
        #expect(pairs > 20_000)
    }

    @Test func asciiAndGeneralTokenizationAgree() throws {
        for text in try QuestionFixture.load().clusters.flatMap({ $0.phrasings(includingParaphrases: true) }) {
            // An emoji sends the text down the Foundation path; it adds no token.
            #expect(QuestionText.tokens(text) == QuestionText.tokens(text + " 🙂"), "\(text)")
        }
    }
}
