import HawkerProtocol

/// One stream's chat: validation, per-user rate limits, moderation, and the batch that
/// leaves once per tick, sampled above the visible-rate cap.
///
/// Sampling keeps a uniform sample of the tick's ordinary messages (reservoir sampling,
/// so memory is the batch budget, not the flood); protected messages — staff, questions,
/// purchase highlights — always go out.
public struct ChatRoom: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var maxLength: Int
        /// Per user and stream.
        public var messagesPerSecond: Double
        public var burst: Int
        /// Ordinary messages one batch carries at most; the rest are sampled out.
        public var visiblePerBatch: Int
        /// Protected messages one batch carries at most (a bound, not a sample).
        public var maxProtectedPerBatch: Int
        /// Recent messages remembered for `delete_message`.
        public var recentMessages: Int
        /// Users with rate-limit or moderation state remembered per stream.
        public var maxTrackedUsers: Int
        public var bannedWords: [String]

        public init(
            maxLength: Int = 500,
            messagesPerSecond: Double = 1,
            burst: Int = 5,
            visiblePerBatch: Int = 20,
            maxProtectedPerBatch: Int = 50,
            recentMessages: Int = 500,
            maxTrackedUsers: Int = 100_000,
            bannedWords: [String] = []
        ) {
            self.maxLength = maxLength
            self.messagesPerSecond = messagesPerSecond
            self.burst = burst
            self.visiblePerBatch = visiblePerBatch
            self.maxProtectedPerBatch = maxProtectedPerBatch
            self.recentMessages = recentMessages
            self.maxTrackedUsers = maxTrackedUsers
            self.bannedWords = bannedWords
        }
    }

    /// What a `send` did.
    public enum Sent: Sendable, Hashable {
        /// In the next batch (or sampled out there).
        case accepted(ChatMessage)
        /// Shadow-banned: the sender is told it was accepted; nobody else sees it.
        case shadowed(ChatMessage)
    }

    private struct UserState: Sendable {
        var bucket: RateBucket
        var lastMessageAt: Int64?
    }

    public let configuration: Configuration
    private let baseFilter: ChatTextFilter
    private var filter: ChatTextFilter
    /// The host's words on top of the configured ones (kept to be saved).
    var extraBannedWords: [String] = []
    private var users: [String: UserState] = [:]
    public internal(set) var bans: Set<String> = []
    public internal(set) var shadowBans: Set<String> = []
    var timeouts: [String: Int64] = [:]
    public internal(set) var slowModeMilliseconds: Int64 = 0
    /// Message id → author, for deletes; oldest first in `recentOrder`.
    private var recent: [String: String] = [:]
    private var recentOrder: [String] = []
    private var protectedBatch: [ChatMessage] = []
    private var sampledBatch: [ChatMessage] = []
    private var ordinarySeen = 0
    private var deleted: [String] = []
    private var random: SplitMix64
    var nextID: UInt64 = 0

    /// Lifetime counters, for insights.
    public internal(set) var accepted = 0
    public internal(set) var refused = 0
    public internal(set) var sampledOutTotal = 0

    public init(configuration: Configuration = Configuration(), seed: UInt64 = 0x5EED) {
        self.configuration = configuration
        self.baseFilter = ChatTextFilter(bannedWords: configuration.bannedWords, maxLength: configuration.maxLength)
        self.filter = baseFilter
        self.random = SplitMix64(seed: seed)
    }

    // MARK: - Sending

    public mutating func send(_ text: String, from author: Author, kind: ChatMessage.Kind = .chat, now: Int64) -> Result<Sent, RoomError> {
        if let refusal = moderationRefusal(author, now: now) {
            refused += 1
            return .failure(refusal)
        }
        let cleaned: String
        switch filter.check(text, stripLinks: !author.isStaff) {
        case .accepted(let text, _):
            cleaned = text
        case .rejected(let rejection):
            refused += 1
            return .failure(Self.error(for: rejection))
        }
        if !author.isStaff, let wait = takeRate(author.user, now: now) {
            refused += 1
            return .failure(wait)
        }
        nextID += 1
        let message = ChatMessage(id: "m\(nextID)", author: author, text: cleaned, kind: kind, timestamp: now)
        if shadowBans.contains(author.user) { return .success(.shadowed(message)) }
        accepted += 1
        remember(message)
        enqueue(message)
        return .success(.accepted(message))
    }

    /// A message from the server itself (a purchase highlight): no limits, never sampled.
    public mutating func post(_ text: String, kind: ChatMessage.Kind, now: Int64) -> ChatMessage {
        nextID += 1
        let message = ChatMessage(id: "m\(nextID)", author: Author(user: "hawker", name: nil, role: "system", isStaff: true), text: text, kind: kind, timestamp: now)
        remember(message)
        enqueue(message)
        return message
    }

    /// Moderation and the per-user rate for something other than a chat message that
    /// counts like one (`question.ask`): nil when `author` may go ahead.
    public mutating func admit(_ author: Author, now: Int64) -> RoomError? {
        if let refusal = moderationRefusal(author, now: now) {
            refused += 1
            return refusal
        }
        guard !author.isStaff else { return nil }
        return takeRate(author.user, now: now)
    }

    private func moderationRefusal(_ author: Author, now: Int64) -> RoomError? {
        guard !author.isStaff else { return nil }
        if bans.contains(author.user) {
            return RoomError(.banned, "you are banned from this stream's chat")
        }
        if let until = timeouts[author.user], until > now {
            return RoomError(.timedOut, "you are timed out of this chat", retryAfterMilliseconds: until - now)
        }
        return nil
    }

    private mutating func takeRate(_ user: String, now: Int64) -> RoomError? {
        if users[user] == nil {
            if users.count >= configuration.maxTrackedUsers { forgetIdleUsers(now: now) }
            guard users.count < configuration.maxTrackedUsers else {
                return RoomError(.rateLimited, "the chat is too busy right now", retryAfterMilliseconds: 1_000)
            }
            users[user] = UserState(bucket: RateBucket(burst: configuration.burst, now: now), lastMessageAt: nil)
        }
        var state = users[user]!
        defer { users[user] = state }
        if slowModeMilliseconds > 0, let last = state.lastMessageAt, now - last < slowModeMilliseconds {
            return RoomError(.rateLimited, "slow mode: one message every \(slowModeMilliseconds / 1000) s", retryAfterMilliseconds: slowModeMilliseconds - (now - last))
        }
        if let wait = state.bucket.take(ratePerSecond: configuration.messagesPerSecond, burst: configuration.burst, now: now) {
            return RoomError(.rateLimited, "at most \(configuration.messagesPerSecond) chat messages per second", retryAfterMilliseconds: wait)
        }
        state.lastMessageAt = now
        return nil
    }

    /// Users whose bucket has refilled and whose slow-mode interval has passed hold no
    /// information worth keeping.
    private mutating func forgetIdleUsers(now: Int64) {
        let idleFor = max(slowModeMilliseconds, Int64(Double(configuration.burst) * 1000 / configuration.messagesPerSecond))
        users = users.filter { $0.value.lastMessageAt.map { now - $0 < idleFor } ?? false }
    }

    private mutating func remember(_ message: ChatMessage) {
        recent[message.id] = message.author.user
        recentOrder.append(message.id)
        if recentOrder.count > configuration.recentMessages {
            let overflow = recentOrder.count - configuration.recentMessages
            for id in recentOrder.prefix(overflow) { recent[id] = nil }
            recentOrder.removeFirst(overflow)
        }
    }

    private mutating func enqueue(_ message: ChatMessage) {
        if message.isProtected {
            guard protectedBatch.count < configuration.maxProtectedPerBatch else {
                sampledOutTotal += 1
                return
            }
            protectedBatch.append(message)
            return
        }
        ordinarySeen += 1
        if sampledBatch.count < configuration.visiblePerBatch {
            sampledBatch.append(message)
        } else {
            // Reservoir sampling: the i-th ordinary message replaces a kept one with
            // probability k/i, so every message of the tick is equally likely to show.
            let slot = Int.random(in: 0..<ordinarySeen, using: &random)
            if slot < configuration.visiblePerBatch { sampledBatch[slot] = message }
        }
    }

    // MARK: - Moderation

    public mutating func moderate(_ action: ModerationAction, now: Int64) -> Result<Void, RoomError> {
        switch action {
        case .deleteMessage(let id):
            guard recent.removeValue(forKey: id) != nil else {
                return .failure(RoomError(.unknownMessage, "no recent message '\(id)' (only the last \(configuration.recentMessages) can be deleted)"))
            }
            recentOrder.removeAll { $0 == id }
            let before = protectedBatch.count + sampledBatch.count
            protectedBatch.removeAll { $0.id == id }
            sampledBatch.removeAll { $0.id == id }
            // Already sent: tell every viewer to remove it.
            if protectedBatch.count + sampledBatch.count == before { deleted.append(id) }
        case .timeout(let user, let duration):
            guard timeouts[user] != nil || timeouts.count < configuration.maxTrackedUsers else { return .failure(full()) }
            timeouts[user] = now + duration
            purgePending(from: user)
        case .ban(let user):
            guard bans.count < configuration.maxTrackedUsers else { return .failure(full()) }
            bans.insert(user)
            purgePending(from: user)
        case .shadowBan(let user):
            guard shadowBans.count < configuration.maxTrackedUsers else { return .failure(full()) }
            shadowBans.insert(user)
            purgePending(from: user)
        case .unban(let user):
            bans.remove(user)
            shadowBans.remove(user)
            timeouts[user] = nil
        case .slowMode(let interval):
            slowModeMilliseconds = interval
        case .bannedWords(let words):
            extraBannedWords = words
            applyBannedWords(words)
        }
        timeouts = timeouts.filter { $0.value > now }
        return .success(())
    }

    mutating func applyBannedWords(_ words: [String]) {
        filter = baseFilter.with(extraBannedWords: words)
    }

    private func full() -> RoomError {
        RoomError(.limitReached, "this stream holds at most \(configuration.maxTrackedUsers) moderated users")
    }

    /// A banned user's messages still waiting for the tick do not go out.
    private mutating func purgePending(from user: String) {
        protectedBatch.removeAll { $0.author.user == user }
        sampledBatch.removeAll { $0.author.user == user }
    }

    // MARK: - Batching

    public var hasPending: Bool { !protectedBatch.isEmpty || !sampledBatch.isEmpty || !deleted.isEmpty }

    /// The tick's batch, in the order messages were accepted; nil when there is nothing.
    public mutating func drain() -> ChatBatch? {
        guard hasPending else { return nil }
        let sampledOut = max(0, ordinarySeen - sampledBatch.count)
        sampledOutTotal += sampledOut
        let messages = (protectedBatch + sampledBatch).sorted { Self.order($0.id) < Self.order($1.id) }
        let batch = ChatBatch(messages: messages, deleted: deleted, sampledOut: sampledOut)
        protectedBatch.removeAll(keepingCapacity: true)
        sampledBatch.removeAll(keepingCapacity: true)
        deleted.removeAll()
        ordinarySeen = 0
        return batch
    }

    private static func order(_ id: String) -> UInt64 { UInt64(id.dropFirst()) ?? 0 }

    private static func error(for rejection: ChatTextFilter.Rejection) -> RoomError {
        switch rejection {
        case .empty: return RoomError(.invalidMessage, "the message is empty")
        case .tooLong(let max): return RoomError(.invalidMessage, "messages are at most \(max) characters")
        case .controlCharacters: return RoomError(.invalidMessage, "the message holds control characters")
        case .bannedWord: return RoomError(.messageBlocked, "the message contains a word this chat does not allow")
        }
    }
}
