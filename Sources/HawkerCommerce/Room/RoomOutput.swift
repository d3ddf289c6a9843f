import HawkerProtocol

/// Who a push is for.
public enum Audience: Sendable, Hashable {
    case everyone
    /// Hosts, moderators and admins subscribed to the stream.
    case staff
}

/// A push the room wants sent to a stream's subscribers.
public struct RoomPush: Sendable {
    public var type: MessageType
    public var audience: Audience
    /// Pushes with a key are state: for a backed-up viewer only the latest per key is
    /// kept. Keyless pushes (chat) are dropped for a backed-up viewer and counted.
    public var coalescingKey: String?
    public var body: [String: JSONValue]
    /// Messages carried (a chat batch's length).
    public var itemCount = 1
}

/// What one tick of a room produces.
public struct RoomTick: Sendable {
    /// Sale starts and ends that became due: sequence and fan out like host events.
    public var events: [EventDraft] = []
    public var pushes: [RoomPush] = []
}

/// The room's answer to a command.
public struct RoomReply: Sendable {
    public var type: MessageType
    public var body: [String: JSONValue]
    /// An event the command produces (`question.answered`): sequenced and fanned out,
    /// and the reply becomes `published`.
    public var event: EventDraft?

    public init(type: MessageType, body: [String: JSONValue], event: EventDraft? = nil) {
        self.type = type
        self.body = body
        self.event = event
    }
}
