/// What a connected client asks of one stream beyond reading it: chat, questions,
/// purchase intents and moderation. Decoded and shape-checked; permissions and the
/// stream's rules are checked later.
public enum StreamAction: Sendable, Hashable {
    case chat(text: String)
    case ask(text: String)
    case upvote(question: String)
    case answer(question: String, answer: String?)
    case intent(product: String, variant: String?, action: IntentKind)
    case moderate(ModerationAction)

    /// Chat messages and questions: text other viewers read, rate-limited per user over
    /// every stream as well as per stream.
    public var postsText: Bool {
        switch self {
        case .chat, .ask: return true
        case .upvote, .answer, .intent, .moderate: return false
        }
    }

    /// The command's wire name, for messages.
    public var commandName: String {
        switch self {
        case .chat: return "chat.send"
        case .ask: return "question.ask"
        case .upvote: return "question.upvote"
        case .answer: return "question.answer"
        case .intent: return "intent"
        case .moderate: return "moderate"
        }
    }
}

/// What a viewer signals with `intent`.
public enum IntentKind: String, Sendable, Hashable, CaseIterable {
    case view
    case addToCart = "add_to_cart"
    case removeFromCart = "remove_from_cart"
}

/// A moderator's or host's `moderate` command.
public enum ModerationAction: Sendable, Hashable {
    case deleteMessage(String)
    case timeout(user: String, durationMilliseconds: Int64)
    case ban(user: String)
    case shadowBan(user: String)
    case unban(user: String)
    /// 0 turns slow mode off.
    case slowMode(intervalMilliseconds: Int64)
    /// Replaces the stream's own banned words (added to the gateway's list).
    case bannedWords([String])

    public var name: String {
        switch self {
        case .deleteMessage: return "delete_message"
        case .timeout: return "timeout_user"
        case .ban: return "ban_user"
        case .shadowBan: return "shadow_ban_user"
        case .unban: return "unban_user"
        case .slowMode: return "slow_mode"
        case .bannedWords: return "banned_words"
        }
    }
}
