import Foundation

/// The questions of one live stream: near-duplicate phrasings merged, distinct askers and
/// upvoters counted, ranked by a decaying score. A value type with no I/O; time is always
/// passed in, so the owner (one stream actor or event loop) decides what "now" is.
///
/// Scoring: every counted ask and upvote adds 1 at `now`, halving every
/// `halfLifeMilliseconds`. An ask is not worth more than an upvote: merging already turns a
/// repeated question into the same signal as an upvote, and equal weights keep the score
/// readable as "viewers waiting", with recent ones counting most.
///
/// Matching compares a new question with every stored question, answered ones included,
/// so late joiners repeating an answered question land on it (`.merged` with
/// `answered == true`) instead of re-opening it as a new one. Cost per `ask` is at most
/// `maxQuestions * maxVariantsPerQuestion` comparisons of small sets.
public struct QuestionAggregator: Sendable {
    public let configuration: Configuration
    /// Increments on every change, so a caller can push `top(now:)` only when it changed.
    /// Decay alone does not change it: ranks between two votes change only through votes,
    /// since all scores decay at the same rate.
    public internal(set) var version: UInt64 = 0

    var entries: [String: Entry] = [:]
    var nextSequence: UInt64 = 1

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration.sanitized
    }

    /// Number of stored questions, answered ones included.
    public var count: Int { entries.count }

    public func question(_ id: String) -> Question? {
        entries[id]?.question
    }

    /// Records `user` asking `text`: merges it into the most similar stored question when
    /// similar enough, otherwise creates a question (evicting one if the stream is full).
    public mutating func ask(_ text: String, user: String, now: Int64) -> AskResult {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return .rejected(.empty) }
        guard trimmed.count <= configuration.maxTextLength else { return .rejected(.tooLong) }
        let words = QuestionText.tokens(trimmed)
        guard !words.isEmpty else { return .rejected(.noMeaningfulWords) }
        let tokens = TokenSignature(words)

        if let id = bestMatch(for: tokens), let index = entries.index(forKey: id) {
            // Mutated in place: a copy would copy the voter set (thousands of users) on every ask.
            if entries.values[index].voters.contains(user) {
                return .alreadyAsked(entries.values[index].question)
            }
            guard entries.values[index].voters.count < configuration.maxVotersPerQuestion else {
                return .votersFull(entries.values[index].question)
            }
            entries.values[index].voters.insert(user)
            entries.values[index].question.askers += 1
            entries.values[index].question.addVote(now: now)
            if entries.values[index].variants.count < configuration.maxVariantsPerQuestion, !entries.values[index].variants.contains(tokens) {
                entries.values[index].variants.append(tokens)
            }
            version &+= 1
            return .merged(entries.values[index].question)
        }

        if entries.count >= configuration.maxQuestions {
            evictOne(now: now)
        }
        let sequence = nextSequence
        nextSequence += 1
        let question = Question(
            id: "q\(sequence)",
            text: trimmed,
            now: now,
            halfLifeMilliseconds: configuration.halfLifeMilliseconds
        )
        entries[question.id] = Entry(question: question, sequence: sequence, variants: [tokens], voters: [user])
        version &+= 1
        return .created(question)
    }

    /// Counts `user`'s upvote once per question. Anyone who asked it has already been
    /// counted, so their upvote is `.alreadyCounted`. Upvoting an answered question counts
    /// (it is harmless: answered questions are not ranked).
    public mutating func upvote(_ id: String, user: String, now: Int64) -> UpvoteResult {
        guard let index = entries.index(forKey: id) else { return .unknownQuestion }
        if entries.values[index].voters.contains(user) {
            return .alreadyCounted(entries.values[index].question)
        }
        guard entries.values[index].voters.count < configuration.maxVotersPerQuestion else {
            return .votersFull(entries.values[index].question)
        }
        entries.values[index].voters.insert(user)
        entries.values[index].question.upvotes += 1
        entries.values[index].question.addVote(now: now)
        version &+= 1
        return .counted(entries.values[index].question)
    }

    /// Marks a question answered; it leaves `top(now:)` but stays for matching until evicted.
    /// Answering twice keeps the first `answeredAt`. Nil if unknown.
    public mutating func answer(_ id: String, now: Int64) -> Question? {
        guard var entry = entries[id] else { return nil }
        guard !entry.question.answered else { return entry.question }
        entry.question.answered = true
        entry.question.answeredAt = now
        entries[id] = entry
        version &+= 1
        return entry.question
    }

    /// Up to `topCount` unanswered questions, highest score first; equal scores go to the
    /// earlier question, then the lower id. Answered questions are left out: the host has
    /// dealt with them, and the list is what is still waiting.
    public func top(now: Int64) -> [Question] {
        let ranked = entries.values
            .filter { !$0.question.answered }
            .map { (entry: $0, score: $0.question.score(at: now)) }
            .sorted { lhs, rhs in
                if lhs.score != rhs.score { return lhs.score > rhs.score }
                if lhs.entry.question.askedAt != rhs.entry.question.askedAt {
                    return lhs.entry.question.askedAt < rhs.entry.question.askedAt
                }
                return lhs.entry.sequence < rhs.entry.sequence
            }
        return ranked.prefix(configuration.topCount).map(\.entry.question)
    }

    /// The id of the most similar stored question at or above the threshold. Ties go to an
    /// unanswered question (the one the host will still see), then to the oldest, so the
    /// outcome never depends on dictionary order.
    private func bestMatch(for tokens: TokenSignature) -> String? {
        var best: (id: String, sequence: UInt64, answered: Bool, similarity: Double)?
        for entry in entries.values {
            let similarity = entry.bestSimilarity(to: tokens)
            guard similarity >= configuration.similarityThreshold else { continue }
            let candidate = (id: entry.question.id, sequence: entry.sequence, answered: entry.question.answered, similarity: similarity)
            guard let current = best else {
                best = candidate
                continue
            }
            let isBetter =
                if candidate.similarity != current.similarity {
                    candidate.similarity > current.similarity
                } else if candidate.answered != current.answered {
                    !candidate.answered
                } else {
                    candidate.sequence < current.sequence
                }
            if isBetter {
                best = candidate
            }
        }
        return best?.id
    }

    /// Drops the lowest-scored answered question, or if none is answered the lowest-scored
    /// one; equal scores drop the least recently active, then the oldest.
    private mutating func evictOne(now: Int64) {
        let victim = entries.values.min { lhs, rhs in
            if lhs.question.answered != rhs.question.answered { return lhs.question.answered }
            let lhsScore = lhs.question.score(at: now)
            let rhsScore = rhs.question.score(at: now)
            if lhsScore != rhsScore { return lhsScore < rhsScore }
            if lhs.question.lastActivityAt != rhs.question.lastActivityAt {
                return lhs.question.lastActivityAt < rhs.question.lastActivityAt
            }
            return lhs.sequence < rhs.sequence
        }
        if let victim {
            entries[victim.question.id] = nil
        }
    }
}
