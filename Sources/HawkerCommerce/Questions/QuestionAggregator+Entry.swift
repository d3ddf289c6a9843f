extension QuestionAggregator {
    /// Bookkeeping kept beside a question and never handed out: matching and dedupe state.
    struct Entry: Sendable, Codable {
        var question: Question
        /// Creation order; the numeric part of the id, used for deterministic tie-breaks
        /// (string ids would put "q10" before "q9").
        let sequence: UInt64
        /// Token sets of distinct phrasings, first phrasing first.
        var variants: [TokenSignature]
        /// Everyone counted so far, askers and upvoters alike: one vote per user per question.
        var voters: Set<String>

        func bestSimilarity(to tokens: TokenSignature) -> Double {
            var best = 0.0
            for variant in variants {
                best = max(best, tokens.similarity(to: variant))
                if best >= 1 { break }
            }
            return best
        }
    }
}
