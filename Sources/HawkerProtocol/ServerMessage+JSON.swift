import struct Foundation.Data
import class Foundation.JSONEncoder
import NIOCore

extension ServerMessage {
    /// Encodes the message as one JSON text.
    public func encode(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        switch self {
        case .welcome(let welcome):
            return JSONText.encode(WelcomeJSON(welcome), allocator: allocator)
        case .subscribed(let subscribed):
            var buffer = JSONText.encode(SubscribedJSON(subscribed), allocator: allocator)
            if let state = subscribed.stateJSON {
                // Splice the shared, pre-encoded state in before the closing brace.
                buffer.moveWriterIndex(to: buffer.writerIndex - 1)
                buffer.writeString(",\"state\":")
                buffer.writeImmutableBuffer(state)
                buffer.writeString("}")
            }
            return buffer
        case .unsubscribed(let re, let stream):
            return JSONText.encode(UnsubscribedJSON(re: re, stream: stream), allocator: allocator)
        case .published(let re, let receipt):
            return JSONText.encode(PublishedJSON(re: re, receipt: receipt), allocator: allocator)
        case .pong(let re, let serverTime):
            return JSONText.encode(PongJSON(re: re, server_time: serverTime), allocator: allocator)
        case .error(let error):
            return error.encode(allocator: allocator)
        case .event(let event):
            return event.encode(allocator: allocator)
        case .reply(let type, let re, let body):
            return JSONText.encode(type: type, leading: ("re", .string(re)), body: body, allocator: allocator)
        case .push(let type, let stream, let body):
            return JSONText.encode(type: type, leading: ("stream", .string(stream.rawValue)), body: body, allocator: allocator)
        }
    }
}

public enum JSONText {
    /// `{"type":..,"<leading>":..,<body...>}`, type first so that logs read well.
    /// `type` and `leading.0` are the server's own ASCII names.
    static func encode(type: String, leading: (String, JSONValue), body: [String: JSONValue], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64 + 48 * body.count)
        buffer.writeString("{\"type\":\"\(type)\",\"\(leading.0)\":")
        leading.1.write(into: &buffer)
        let rest = body.filter { $0.key != "type" && $0.key != leading.0 }
        if !rest.isEmpty {
            buffer.writeInteger(UInt8(ascii: ","))
            JSONValue.writeMembers(rest, into: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }

    /// Encodes any JSON value (the room's state, pushes) as one buffer.
    public static func encode(_ value: JSONValue, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        value.write(into: &buffer)
        return buffer
    }

    static func encode(_ value: any Encodable, allocator: ByteBufferAllocator) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Our message types hold only strings, integers and JSONValue: encoding cannot fail.
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var buffer = allocator.buffer(capacity: data.count)
        buffer.writeBytes(data)
        return buffer
    }
}

private struct WelcomeJSON: Encodable {
    struct User: Encodable {
        var sub: String
        var role: String
    }
    var type = "welcome"
    var re: String
    var `protocol` = "hawker.v1"
    var session: String
    var server_time: Int64
    var user: User
    var limits: ServerMessage.Limits

    init(_ welcome: ServerMessage.Welcome) {
        re = welcome.re
        session = welcome.session
        server_time = welcome.serverTime
        user = User(sub: welcome.sub, role: welcome.role)
        limits = welcome.limits
    }
}

private struct SubscribedJSON: Encodable {
    var type = "subscribed"
    var re: String
    var stream: StreamID
    var epoch: String
    var seq: UInt64
    var recovered: Bool
    var replayed: Int?

    init(_ subscribed: ServerMessage.Subscribed) {
        re = subscribed.re
        stream = subscribed.stream
        epoch = subscribed.position.epoch
        seq = subscribed.position.seq
        recovered = subscribed.recovered
        replayed = subscribed.replayed
    }
}

private struct UnsubscribedJSON: Encodable {
    var type = "unsubscribed"
    var re: String
    var stream: StreamID
}

private struct PublishedJSON: Encodable {
    var type = "published"
    var re: String
    var stream: StreamID
    var epoch: String
    var seq: UInt64
    var ts: Int64

    init(re: String, receipt: PublishReceipt) {
        self.re = re
        stream = receipt.stream
        epoch = receipt.position.epoch
        seq = receipt.position.seq
        ts = receipt.timestamp
    }
}

private struct PongJSON: Encodable {
    var type = "pong"
    var re: String
    var server_time: Int64
}

extension ServerMessage.ErrorReply {
    /// Written directly (errors answer floods and checkout storms): type, re, code,
    /// message, then the optional fields that are set.
    func encode(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 96 + message.utf8.count)
        buffer.writeString(#"{"type":"error""#)
        if let re {
            buffer.writeString(#","re":"#)
            JSONValue.writeString(re, into: &buffer)
        }
        buffer.writeString(#","code":""#)
        buffer.writeString(code.rawValue)
        buffer.writeString(#"","message":"#)
        JSONValue.writeString(message, into: &buffer)
        if let retryAfterMilliseconds { buffer.writeString(#","retry_after_ms":\#(retryAfterMilliseconds)"#) }
        if let product {
            buffer.writeString(#","product":"#)
            JSONValue.writeString(product, into: &buffer)
        }
        if let currentPrice { buffer.writeString(#","current_price":\#(currentPrice)"#) }
        if let available { buffer.writeString(#","available":\#(available)"#) }
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }
}

extension StreamEvent {
    /// The `event` push, written once per event for every viewer.
    func encode(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 160 + 32 * data.count)
        // Stream ids, epochs and kinds are ASCII patterns that need no escaping.
        buffer.writeString(#"{"type":"event","stream":""#)
        buffer.writeString(stream.rawValue)
        buffer.writeString(#"","epoch":"#)
        JSONValue.writeString(epoch, into: &buffer)
        buffer.writeString(#","seq":"#)
        buffer.writeString(String(seq))
        buffer.writeString(#","ts":"#)
        buffer.writeString(String(timestamp))
        buffer.writeString(#","kind":""#)
        buffer.writeString(kind.rawValue)
        buffer.writeString(#"","data":{"#)
        JSONValue.writeMembers(data, into: &buffer)
        buffer.writeString("}}")
        return buffer
    }
}
