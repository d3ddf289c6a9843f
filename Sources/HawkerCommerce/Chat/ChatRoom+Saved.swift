extension ChatRoom {
    /// Moderation and lifetime counters, for a restart. Pending batches, rate buckets and
    /// the recent-message index are not kept: they last seconds.
    public struct Saved: Sendable, Hashable, Codable {
        var bans: Set<String>
        var shadowBans: Set<String>
        var timeouts: [String: Int64]
        var slowModeMilliseconds: Int64
        var extraBannedWords: [String]
        var nextID: UInt64
        var accepted: Int
        var refused: Int
        var sampledOutTotal: Int
    }

    public var saved: Saved {
        Saved(
            bans: bans, shadowBans: shadowBans, timeouts: timeouts, slowModeMilliseconds: slowModeMilliseconds, extraBannedWords: extraBannedWords,
            nextID: nextID, accepted: accepted, refused: refused, sampledOutTotal: sampledOutTotal
        )
    }

    public init(restoring saved: Saved, configuration: Configuration, seed: UInt64) {
        self.init(configuration: configuration, seed: seed)
        bans = saved.bans
        shadowBans = saved.shadowBans
        timeouts = saved.timeouts.mapValues(SavedValues.clamp)
        slowModeMilliseconds = SavedValues.clamp(saved.slowModeMilliseconds)
        if !saved.extraBannedWords.isEmpty {
            extraBannedWords = saved.extraBannedWords
            applyBannedWords(saved.extraBannedWords)
        }
        // Message ids stay unique across the restart.
        nextID = SavedValues.clamp(saved.nextID)
        accepted = SavedValues.clamp(saved.accepted)
        refused = SavedValues.clamp(saved.refused)
        sampledOutTotal = SavedValues.clamp(saved.sampledOutTotal)
    }
}
