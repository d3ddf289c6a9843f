import HawkerProtocol

extension QuestionAggregator {
    /// The questions, with who asked and upvoted them, for a restart.
    public struct Saved: Sendable, Codable {
        var entries: [Entry]
        var nextSequence: UInt64
    }

    public var saved: Saved {
        Saved(entries: entries.values.sorted { $0.sequence < $1.sequence }, nextSequence: nextSequence)
    }

    /// The questions `saved` holds, within today's limits.
    public init(restoring saved: Saved, configuration: Configuration) {
        self.init(configuration: configuration)
        let kept = saved.entries.filter { SavedValues.isSafe($0.question) && $0.sequence < UInt64(JSONValue.maxSafeInteger) }
        for entry in kept.suffix(self.configuration.maxQuestions) { entries[entry.question.id] = entry }
        nextSequence = SavedValues.clamp(max(saved.nextSequence, (kept.map(\.sequence).max() ?? 0) + 1))
        version = 1
    }
}
