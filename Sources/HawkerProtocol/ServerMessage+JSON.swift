import NIOCore

extension ServerMessage {
    /// Encodes the message as one JSON text.
    public func encode(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        switch self {
        case .welcome(let welcome):
            return welcome.encode(allocator: allocator)
        case .subscribed(let subscribed):
            return subscribed.encode(allocator: allocator)
        case .unsubscribed(let re, let stream):
            var buffer = allocator.messageBuffer(capacity: 48 + re.utf8.count + stream.rawValue.utf8.count)
            buffer.writeString(#"{"type":"unsubscribed","re":"#)
            JSONValue.writeString(re, into: &buffer)
            buffer.writeString(#","stream":"#)
            JSONValue.writeString(stream.rawValue, into: &buffer)
            buffer.writeInteger(UInt8(ascii: "}"))
            return buffer
        case .published(let re, let receipt):
            return Self.encodePublished(re: re, receipt: receipt, allocator: allocator)
        case .pong(let re, let serverTime):
            var buffer = allocator.messageBuffer(capacity: 48 + re.utf8.count)
            buffer.writeString(#"{"type":"pong","re":"#)
            JSONValue.writeString(re, into: &buffer)
            buffer.writeString(#","server_time":\#(serverTime)}"#)
            return buffer
        case .error(let error):
            return error.encode(allocator: allocator)
        case .event(let event):
            return event.encode(allocator: allocator)
        case .reply(let type, let re, let body):
            return JSONText.encode(type: type.rawValue, leading: ("re", .string(re)), body: body, allocator: allocator)
        case .push(let type, let stream, let body):
            return JSONText.encode(type: type.rawValue, leading: ("stream", .string(stream.rawValue)), body: body, allocator: allocator)
        }
    }
}

extension ServerMessage {
    /// Bytes left free in front of every encoded message: a WebSocket frame header (at
    /// most 10 bytes) is written there, so framing a message copies nothing.
    public static let frameHeadroom = 10
}

extension ByteBufferAllocator {
    /// A buffer for one message, with `ServerMessage.frameHeadroom` bytes free before its
    /// reader index.
    func messageBuffer(capacity: Int) -> ByteBuffer {
        var buffer = self.buffer(capacity: capacity + ServerMessage.frameHeadroom)
        buffer.moveWriterIndex(forwardBy: ServerMessage.frameHeadroom)
        buffer.moveReaderIndex(forwardBy: ServerMessage.frameHeadroom)
        return buffer
    }
}

extension ServerMessage {
    /// Written directly: every published event is answered with one, so JSONEncoder's
    /// cost (a dozen allocations) was a fifth of an event's allocations.
    static func encodePublished(re: String, receipt: PublishReceipt, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.messageBuffer(capacity: 96 + re.utf8.count + receipt.stream.rawValue.utf8.count)
        buffer.writeString(#"{"type":"published","re":"#)
        JSONValue.writeString(re, into: &buffer)
        buffer.writeString(#","stream":"#)
        JSONValue.writeString(receipt.stream.rawValue, into: &buffer)
        buffer.writeString(#","epoch":"#)
        JSONValue.writeString(receipt.position.epoch, into: &buffer)
        buffer.writeString(#","seq":"#)
        buffer.writeString(String(receipt.position.seq))
        buffer.writeString(#","ts":"#)
        buffer.writeString(String(receipt.timestamp))
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }
}

public enum JSONText {
    /// `{"type":..,"<leading>":..,<body...>}`, type first so that logs read well.
    /// `type` and `leading.0` are the server's own ASCII names.
    static func encode(type: String, leading: (String, JSONValue), body: [String: JSONValue], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.messageBuffer(capacity: 64 + 48 * body.count)
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
        var buffer = allocator.messageBuffer(capacity: 256)
        value.write(into: &buffer)
        return buffer
    }
}

// Every connection gets a `welcome` and a `subscribed`: written directly, as the events
// are, instead of through JSONEncoder (which cost a connect storm tens of allocations and
// microseconds per connection).
extension ServerMessage.Welcome {
    func encode(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.messageBuffer(capacity: 320 + re.utf8.count + sub.utf8.count)
        buffer.writeString(#"{"type":"welcome","re":"#)
        JSONValue.writeString(re, into: &buffer)
        buffer.writeString(#","protocol":"hawker.v1","session":"#)
        JSONValue.writeString(session, into: &buffer)
        buffer.writeString(#","server_time":\#(serverTime),"user":{"sub":"#)
        JSONValue.writeString(sub, into: &buffer)
        buffer.writeString(#","role":"#)
        JSONValue.writeString(role, into: &buffer)
        buffer.writeString(#"},"limits":{"max_message_bytes":\#(limits.maxMessageBytes),"max_subscriptions":\#(limits.maxSubscriptions),"#)
        buffer.writeString(#""ping_interval_ms":\#(limits.pingIntervalMilliseconds),"commands_per_second":\#(limits.commandsPerSecond),"#)
        buffer.writeString(#""command_burst":\#(limits.commandBurst)}}"#)
        return buffer
    }
}

extension ServerMessage.Subscribed {
    /// The shared, pre-encoded state is spliced in as it is.
    func encode(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.messageBuffer(capacity: 128 + re.utf8.count + stream.rawValue.utf8.count + (stateJSON?.readableBytes ?? 0))
        buffer.writeString(#"{"type":"subscribed","re":"#)
        JSONValue.writeString(re, into: &buffer)
        buffer.writeString(#","stream":"#)
        JSONValue.writeString(stream.rawValue, into: &buffer)
        buffer.writeString(#","epoch":"#)
        JSONValue.writeString(position.epoch, into: &buffer)
        buffer.writeString(#","seq":\#(position.seq),"recovered":\#(recovered)"#)
        if let replayed { buffer.writeString(#","replayed":\#(replayed)"#) }
        if let stateJSON {
            buffer.writeString(#","state":"#)
            buffer.writeImmutableBuffer(stateJSON)
        }
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }
}

extension ServerMessage.ErrorReply {
    /// Written directly (errors answer floods and checkout storms): type, re, code,
    /// message, then the optional fields that are set.
    func encode(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.messageBuffer(capacity: 96 + message.utf8.count)
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
        if let charges {
            buffer.writeString(#","charges":"#)
            charges.write(into: &buffer)
        }
        if let totals {
            buffer.writeString(#","totals":"#)
            totals.write(into: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }
}

extension StreamEvent {
    /// The `event` push, written once per event for every viewer.
    func encode(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.messageBuffer(capacity: 256 + 48 * data.count)
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
