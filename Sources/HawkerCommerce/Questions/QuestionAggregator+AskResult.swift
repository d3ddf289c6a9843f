extension QuestionAggregator {
    /// Outcome of `ask`.
    public enum AskResult: Sendable, Hashable {
        /// A new question.
        case created(Question)
        /// Counted as one more asker of an existing question, possibly an answered one
        /// (which stays answered, so the caller can point the viewer at the answer).
        case merged(Question)
        /// This user already asked or upvoted the matching question: nothing counted.
        case alreadyAsked(Question)
        /// Matched a question whose voter memory is full: not counted.
        case votersFull(Question)
        case rejected(RejectionReason)

        /// The question the message landed in, if any.
        public var question: Question? {
            switch self {
            case .created(let question), .merged(let question), .alreadyAsked(let question), .votersFull(let question):
                question
            case .rejected:
                nil
            }
        }
    }
}
