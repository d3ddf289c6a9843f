import HawkerProtocol
import HawkerState
import NIOCore

/// What a node reads from Redis, for the libFuzzer target in Fuzz/ only
/// (`@_spi(Fuzzing)`): the bus's messages, the requests and replies they carry, and a
/// stream channel's messages. Each wraps the code the node runs; none adds behaviour.
@_spi(Fuzzing) public enum ClusterFuzzing {
    /// Reads `bytes` as each kind of message. Whatever reads is written again and must
    /// read back the same (returned false otherwise); whatever does not read is nil.
    /// Returns which kinds read: bus message, request, reply, channel message.
    public static func decode(_ bytes: [UInt8]) -> (bus: Bool, request: Bool, reply: Bool, channel: Bool, roundTrips: Bool) {
        let buffer = ByteBuffer(bytes: bytes)
        var roundTrips = true
        let bus = ClusterBusMessage(buffer)
        if let bus { roundTrips = roundTrips && ClusterBusMessage(bus.encoded) == bus }
        let request = ClusterRequest(buffer)
        if let request { roundTrips = roundTrips && ClusterRequest(request.encoded) == request }
        let reply = ClusterReply(buffer)
        if let reply { roundTrips = roundTrips && ClusterReply(reply.encoded)?.json == reply.json }
        let channel = StreamChannelMessage(bytes)
        if let channel { roundTrips = roundTrips && StreamChannelMessage(channel.encoded) == channel }
        return (bus != nil, request != nil, reply != nil, channel != nil, roundTrips)
    }
}
