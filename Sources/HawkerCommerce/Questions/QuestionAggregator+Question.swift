import Foundation

extension QuestionAggregator {
    /// A merged question as the host sees it.
    public struct Question: Sendable, Hashable, Codable {
        /// "q1", "q2", ... in creation order, never reused within one aggregator.
        public let id: String
        /// The first phrasing, trimmed.
        public let text: String
        /// Distinct users who asked it (in any phrasing).
        public internal(set) var askers: Int
        /// Distinct users who upvoted it without having asked it.
        public internal(set) var upvotes: Int
        public let askedAt: Int64
        /// Time of the latest counted ask or upvote.
        public internal(set) var lastActivityAt: Int64
        public internal(set) var answered: Bool
        public internal(set) var answeredAt: Int64?
        /// Decayed score as of `scoreUpdatedAt`; `score(at:)` decays it further on read,
        /// so an update is O(1) and nothing is recomputed as time passes.
        var storedScore: Double
        var scoreUpdatedAt: Int64
        let halfLifeMilliseconds: Int64

        init(id: String, text: String, now: Int64, halfLifeMilliseconds: Int64) {
            self.id = id
            self.text = text
            self.askers = 1
            self.upvotes = 0
            self.askedAt = now
            self.lastActivityAt = now
            self.answered = false
            self.answeredAt = nil
            self.storedScore = 1
            self.scoreUpdatedAt = now
            self.halfLifeMilliseconds = halfLifeMilliseconds
        }

        /// Each ask and upvote adds 1 when it happens and halves every half-life after.
        /// A clock that steps backwards reads the stored score rather than growing it.
        public func score(at now: Int64) -> Double {
            guard halfLifeMilliseconds > 0 else { return storedScore }
            let elapsed = max(0, now - scoreUpdatedAt)
            return storedScore * exp2(-Double(elapsed) / Double(halfLifeMilliseconds))
        }

        /// Askers and upvoters weigh the same: both are one more viewer wanting the answer,
        /// and the host reads the score as "people waiting" (see `QuestionAggregator`).
        mutating func addVote(now: Int64) {
            storedScore = score(at: now) + 1
            scoreUpdatedAt = max(scoreUpdatedAt, now)
            lastActivityAt = max(lastActivityAt, now)
        }
    }
}
