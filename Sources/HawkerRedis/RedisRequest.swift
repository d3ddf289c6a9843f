import NIOCore

/// What `RedisConnectionHandler` is given to write: one or more commands, encoded, and the
/// promise of their replies.
struct RedisRequest {
    enum Answer: Equatable {
        /// One reply per command, in order.
        case replies(count: Int)
        /// (S)SUBSCRIBE / (S)UNSUBSCRIBE: RESP3 confirms each channel with a push instead.
        case confirmations(count: Int)

        var count: Int {
            switch self {
            case .replies(let count), .confirmations(let count): count
            }
        }
    }

    var encoded: ByteBuffer
    var answer: Answer
    var promise: EventLoopPromise<[RESPValue]>
}
