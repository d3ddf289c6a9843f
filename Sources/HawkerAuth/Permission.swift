import HawkerProtocol

/// What a principal may do with a stream. One table, used by the WebSocket sessions and
/// the HTTP API alike.
public enum Permission: Sendable, Hashable {
    /// Subscribe to a stream and read its state.
    case read
    /// Publish events to a stream (and create it by doing so).
    case publish
    /// Chat, ask and upvote questions, signal purchase intents: reading, by a signed-in user.
    case interact
    /// Moderate the chat and answer questions.
    case moderate
}

extension Principal {
    public func may(_ permission: Permission, on stream: StreamID) -> Bool {
        if role == .admin { return true }
        guard streams.contains(stream) else { return false }
        switch permission {
        case .read:
            return true
        case .publish:
            return role == .host
        case .interact:
            return !isAnonymous && role != .orderService
        case .moderate:
            return role == .host || role == .moderator
        }
    }
}
