import HawkerProtocol

/// What a stream command led to.
public enum RoomOutcome: Sendable {
    case reply(type: MessageType, body: [String: JSONValue])
    /// The command produced an event (`question.answered`): where it landed.
    case published(PublishReceipt)
}
