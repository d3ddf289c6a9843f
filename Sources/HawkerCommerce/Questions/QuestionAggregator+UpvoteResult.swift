extension QuestionAggregator {
    /// Outcome of `upvote`.
    public enum UpvoteResult: Sendable, Hashable {
        case counted(Question)
        /// This user already asked or upvoted it.
        case alreadyCounted(Question)
        /// No such id, or it was evicted.
        case unknownQuestion
        /// The question's voter memory is full: not counted.
        case votersFull(Question)
    }
}
