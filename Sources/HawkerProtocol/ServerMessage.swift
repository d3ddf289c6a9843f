import NIOCore

/// Everything the server sends, replies (with `re`) and pushes alike.
public enum ServerMessage: Sendable {
    case welcome(Welcome)
    case subscribed(Subscribed)
    case unsubscribed(re: String, stream: StreamID)
    case published(re: String, receipt: PublishReceipt)
    case pong(re: String, serverTime: Int64)
    case error(ErrorReply)
    case event(StreamEvent)
    /// A reply whose body is plain JSON (the room's replies: `chat.accepted`, ...).
    case reply(type: MessageType, re: String, body: [String: JSONValue])
    /// A push about one stream whose body is plain JSON (`chat`, `questions.top`,
    /// `presence`, `gap`, ...).
    case push(type: MessageType, stream: StreamID, body: [String: JSONValue])

    public struct Welcome: Sendable, Hashable {
        public var re: String
        public var session: String
        public var serverTime: Int64
        public var sub: String
        public var role: String
        public var limits: Limits

        public init(re: String, session: String, serverTime: Int64, sub: String, role: String, limits: Limits) {
            self.re = re
            self.session = session
            self.serverTime = serverTime
            self.sub = sub
            self.role = role
            self.limits = limits
        }
    }

    public struct Limits: Sendable, Hashable, Encodable {
        public var maxMessageBytes: Int
        public var maxSubscriptions: Int
        public var pingIntervalMilliseconds: Int64
        public var commandsPerSecond: Int
        public var commandBurst: Int

        public init(maxMessageBytes: Int, maxSubscriptions: Int, pingIntervalMilliseconds: Int64, commandsPerSecond: Int, commandBurst: Int) {
            self.maxMessageBytes = maxMessageBytes
            self.maxSubscriptions = maxSubscriptions
            self.pingIntervalMilliseconds = pingIntervalMilliseconds
            self.commandsPerSecond = commandsPerSecond
            self.commandBurst = commandBurst
        }

        enum CodingKeys: String, CodingKey {
            case maxMessageBytes = "max_message_bytes"
            case maxSubscriptions = "max_subscriptions"
            case pingIntervalMilliseconds = "ping_interval_ms"
            case commandsPerSecond = "commands_per_second"
            case commandBurst = "command_burst"
        }
    }

    public struct Subscribed: Sendable {
        public var re: String
        public var stream: StreamID
        public var position: StreamPosition
        public var recovered: Bool
        /// The encoded state object (shared by every joiner until it changes), when not
        /// recovered.
        public var stateJSON: ByteBuffer?
        /// How many `event` pushes follow, when recovered.
        public var replayed: Int?

        public init(re: String, stream: StreamID, position: StreamPosition, recovered: Bool, stateJSON: ByteBuffer?, replayed: Int?) {
            self.re = re
            self.stream = stream
            self.position = position
            self.recovered = recovered
            self.stateJSON = stateJSON
            self.replayed = replayed
        }
    }

    public struct ErrorReply: Sendable, Hashable {
        public var re: String?
        public var code: ErrorCode
        public var message: String
        public var retryAfterMilliseconds: Int64?
        /// What a checkout refusal is about: the product, its price now, how many are left.
        public var product: String?
        public var currentPrice: Int64?
        public var available: Int64?
        /// `total_changed`: each merchant's part now, and the totals (as in `quote`).
        public var charges: JSONValue?
        public var totals: JSONValue?

        public init(
            re: String?, code: ErrorCode, message: String, retryAfterMilliseconds: Int64? = nil,
            product: String? = nil, currentPrice: Int64? = nil, available: Int64? = nil, charges: JSONValue? = nil, totals: JSONValue? = nil
        ) {
            self.charges = charges
            self.totals = totals
            self.re = re
            self.code = code
            self.message = message
            self.retryAfterMilliseconds = retryAfterMilliseconds
            self.product = product
            self.currentPrice = currentPrice
            self.available = available
        }
    }
}

extension ServerMessage {
    /// Pushes that come on their own schedule (counters, lists), not in answer to anything
    /// a client did. Clients treat them as the latest value; test runners skip them unless
    /// they wait for one.
    public static let ambientPushTypes: Set<String> = ["presence", "questions.top", "intents.summary", "social_proof"]
}

/// What a successful publish returns: where the event landed.
public struct PublishReceipt: Sendable, Hashable {
    public var stream: StreamID
    public var position: StreamPosition
    public var timestamp: Int64

    public init(stream: StreamID, position: StreamPosition, timestamp: Int64) {
        self.stream = stream
        self.position = position
        self.timestamp = timestamp
    }
}
