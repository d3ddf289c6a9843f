extension QuestionAggregator {
    /// Why `ask` refused a message.
    public enum RejectionReason: Sendable, Hashable {
        /// Nothing but whitespace.
        case empty
        /// Longer than `Configuration.maxTextLength` characters after trimming.
        case tooLong
        /// Only stop words, punctuation or emoji: nothing to match or show ("is it?", "??").
        case noMeaningfulWords
    }
}
