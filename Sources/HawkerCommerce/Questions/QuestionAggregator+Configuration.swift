extension QuestionAggregator {
    /// Limits and tuning for one stream's aggregator. Values below 1 for the counts are
    /// raised to 1 (0 for `topCount`) by `QuestionAggregator.init`.
    public struct Configuration: Sendable, Hashable {
        /// `QuestionText.similarity` at or above which a new question merges into a stored one.
        /// 0.64 sits between the two values that matter on the labelled fixture: the most
        /// similar pair of *different* intents scores 0.6 (one word swapped among three shared,
        /// "foundation good for oily/dry skin"), while the commonest same-intent variation,
        /// one added word per shared word ("waterproof??" vs "is the jacket waterproof"),
        /// scores 2/3.
        public var similarityThreshold: Double
        /// Score half-life. Five minutes: a question asked ten minutes ago that nobody repeats
        /// is worth a quarter of a fresh one, about how long a host stays on one product.
        public var halfLifeMilliseconds: Int64
        /// Questions kept per stream. When full, a new question evicts the lowest-scored one,
        /// answered questions first, so fresh questions always get in.
        public var maxQuestions: Int
        /// Distinct users (askers plus upvoters) remembered per question. Beyond it further new
        /// users are refused (`.votersFull`): the set is the dedupe memory, so it cannot be
        /// dropped without allowing double counts, and a question with thousands of voters
        /// already tops the list.
        public var maxVotersPerQuestion: Int
        /// Token sets of distinct phrasings kept per question for matching. The first phrasing
        /// is always kept; later ones fill free slots only, so a question cannot drift far
        /// from what it was first asked as.
        public var maxVariantsPerQuestion: Int
        /// Length of `top(now:)`.
        public var topCount: Int
        /// Longest accepted question, in characters after trimming.
        public var maxTextLength: Int

        public init(
            similarityThreshold: Double = 0.64,
            halfLifeMilliseconds: Int64 = 300_000,
            maxQuestions: Int = 100,
            maxVotersPerQuestion: Int = 5_000,
            maxVariantsPerQuestion: Int = 4,
            topCount: Int = 10,
            maxTextLength: Int = 300
        ) {
            self.similarityThreshold = similarityThreshold
            self.halfLifeMilliseconds = halfLifeMilliseconds
            self.maxQuestions = maxQuestions
            self.maxVotersPerQuestion = maxVotersPerQuestion
            self.maxVariantsPerQuestion = maxVariantsPerQuestion
            self.topCount = topCount
            self.maxTextLength = maxTextLength
        }

        /// Counts clamped so the aggregator never works with an empty or negative limit.
        var sanitized: Configuration {
            var copy = self
            copy.maxQuestions = max(1, maxQuestions)
            copy.maxVotersPerQuestion = max(1, maxVotersPerQuestion)
            copy.maxVariantsPerQuestion = max(1, maxVariantsPerQuestion)
            copy.topCount = max(0, topCount)
            copy.maxTextLength = max(1, maxTextLength)
            return copy
        }
    }
}
