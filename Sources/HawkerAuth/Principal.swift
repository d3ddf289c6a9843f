import HawkerProtocol

/// Who is on the other end of a connection or request, as the token says.
public struct Principal: Sendable, Hashable {
    public enum StreamScope: Sendable, Hashable {
        case all
        case only(Set<String>)

        public func contains(_ stream: StreamID) -> Bool {
            switch self {
            case .all: return true
            case .only(let streams): return streams.contains(stream.rawValue)
            }
        }
    }

    public var subject: String
    public var role: Role
    public var streams: StreamScope
    public var merchant: String?
    /// Display name for chat, when the token carries one.
    public var name: String?
    /// Token expiry, milliseconds since the Unix epoch (nil for anonymous viewers).
    public var expiresAt: Int64?

    public init(subject: String, role: Role, streams: StreamScope, merchant: String? = nil, name: String? = nil, expiresAt: Int64? = nil) {
        self.subject = subject
        self.role = role
        self.streams = streams
        self.merchant = merchant
        self.name = name
        self.expiresAt = expiresAt
    }

    /// Anonymous viewers read but may not chat, ask or signal intents.
    public private(set) var isAnonymous = false

    /// Hosts, moderators and admins: they see staff pushes and are never sampled out.
    public var isStaff: Bool { role == .host || role == .moderator || role == .admin }

    /// A read-only viewer of every stream, for deployments that allow anonymous viewing.
    public static func anonymous(session: String) -> Principal {
        var principal = Principal(subject: "anon:\(session)", role: .viewer, streams: .all)
        principal.isAnonymous = true
        return principal
    }
}
