import HawkerProtocol

/// Who sends a chat message or a question, as the room needs to know them.
public struct Author: Sendable, Hashable {
    /// The token subject: the identity bans, rate limits and dedupe key on.
    public var user: String
    public var name: String?
    /// The role's wire name (`viewer`, `host`, ...).
    public var role: String
    /// Hosts, moderators and admins: exempt from sampling, slow mode and link stripping.
    public var isStaff: Bool

    public init(user: String, name: String?, role: String, isStaff: Bool) {
        self.user = user
        self.name = name
        self.role = role
        self.isStaff = isStaff
    }
}

/// One message in a stream's chat.
public struct ChatMessage: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case chat
        /// A chat message the room took for a question (also fed to the question list).
        case question
        /// "Someone just bought ..." posted by the server.
        case purchase
    }

    public var id: String
    public var author: Author
    public var text: String
    public var kind: Kind
    public var timestamp: Int64

    /// Never sampled out above the visible-rate cap.
    public var isProtected: Bool { author.isStaff || kind != .chat }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "user": .string(author.user), "role": .string(author.role),
            "text": .string(text), "kind": .string(kind.rawValue), "ts": .int(timestamp),
        ]
        if let name = author.name { object["name"] = .string(name) }
        return .object(object)
    }
}

/// What one chat tick sends: one `chat` push per stream.
public struct ChatBatch: Sendable, Hashable {
    public var messages: [ChatMessage]
    public var deleted: [String]
    /// Ordinary messages left out of this batch by sampling.
    public var sampledOut: Int

    public var json: [String: JSONValue] {
        var body: [String: JSONValue] = ["messages": .array(messages.map(\.json))]
        if !deleted.isEmpty { body["deleted"] = .array(deleted.map(JSONValue.string)) }
        if sampledOut > 0 { body["sampled_out"] = .int(Int64(sampledOut)) }
        return body
    }
}
