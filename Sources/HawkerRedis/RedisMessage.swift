import NIOCore

/// A message received on a subscribed channel (`message`, or `smessage` for sharded pub/sub).
public struct RedisMessage: Sendable, Equatable {
    public var channel: String
    public var payload: ByteBuffer
    public var sharded: Bool

    public init(channel: String, payload: ByteBuffer, sharded: Bool) {
        self.channel = channel
        self.payload = payload
        self.sharded = sharded
    }
}
