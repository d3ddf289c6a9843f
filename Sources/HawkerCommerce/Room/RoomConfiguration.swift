/// The rules and bounds of every stream's room. Each value is a named configuration key
/// (see the README's configuration table).
public struct RoomConfiguration: Sendable {
    public var commerce: CommerceState.Limits
    public var chat: ChatRoom.Configuration
    public var questions: QuestionAggregator.Configuration
    public var intents: IntentAggregator.Configuration
    /// Chat batches, question and intent pushes leave at most once per tick.
    public var tickMilliseconds: Int64
    /// Ordinary chat messages shown per second per stream; above it they are sampled.
    public var visibleChatPerSecond: Int
    /// Chat messages that look like questions also enter the question list.
    public var questionsFromChat: Bool
    /// `questions.top` goes to viewers too, not only to hosts and moderators.
    public var questionsToViewers: Bool
    /// Viewers get `social_proof` counters ("23 added this in the last minute").
    public var socialProof: Bool
    public var socialProofIntervalMilliseconds: Int64
    /// `presence` (the viewer count) leaves at most this often.
    public var presenceIntervalMilliseconds: Int64
    /// What a checkout may buy: what the host shows now, or anything in the catalog.
    public var checkoutPolicy: CommerceState.BuyablePolicy = .pinnedOrOnSale
    /// Checkout answers remembered per stream for idempotent retries.
    public var idempotencyKeys: Int = 10_000

    public init(
        commerce: CommerceState.Limits = .init(),
        chat: ChatRoom.Configuration = .init(),
        questions: QuestionAggregator.Configuration = .init(),
        intents: IntentAggregator.Configuration = .init(),
        tickMilliseconds: Int64 = 100,
        visibleChatPerSecond: Int = 100,
        questionsFromChat: Bool = true,
        questionsToViewers: Bool = true,
        socialProof: Bool = true,
        socialProofIntervalMilliseconds: Int64 = 5_000,
        presenceIntervalMilliseconds: Int64 = 2_000
    ) {
        self.commerce = commerce
        self.chat = chat
        self.questions = questions
        self.intents = intents
        self.tickMilliseconds = tickMilliseconds
        self.visibleChatPerSecond = visibleChatPerSecond
        self.questionsFromChat = questionsFromChat
        self.questionsToViewers = questionsToViewers
        self.socialProof = socialProof
        self.socialProofIntervalMilliseconds = socialProofIntervalMilliseconds
        self.presenceIntervalMilliseconds = presenceIntervalMilliseconds
    }

    /// The chat configuration with the per-batch budget the visible rate implies.
    var chatPerBatch: ChatRoom.Configuration {
        var chat = self.chat
        chat.visiblePerBatch = max(1, Int((Int64(visibleChatPerSecond) * tickMilliseconds + 999) / 1000))
        return chat
    }
}
