import HawkerProtocol
import NIOCore
import Testing

@Suite("ServerMessage.encode")
struct ServerMessageEncodingTests {

    private let epoch = "3f9a1c07d2b84e65"

    private func event(seq: UInt64, ts: Int64, _ kind: EventKind, _ data: [String: JSONValue]) throws -> StreamEvent {
        StreamEvent(stream: stream("shop-42"), epoch: epoch, seq: seq, timestamp: ts, draft: try EventDraft(kind: kind, data: data))
    }

    @Test func welcome() throws {
        let limits = ServerMessage.Limits(maxMessageBytes: 65_536, maxSubscriptions: 16, pingIntervalMilliseconds: 20_000, commandsPerSecond: 20, commandBurst: 40)
        let message = ServerMessage.welcome(
            .init(re: "c1", session: "k3v9q2", serverTime: 1_732_660_000_123, sub: "viewer-9", role: "viewer", limits: limits)
        )
        let json = try parseObject(message.encode())
        #expect(json["type"] == "welcome")
        #expect(json["re"] == "c1")
        #expect(json["protocol"] == "hawker.v1")
        #expect(json["session"] == "k3v9q2")
        #expect(json["server_time"] == .int(1_732_660_000_123))
        #expect(json["user"] == ["sub": "viewer-9", "role": "viewer"])
        #expect(
            json["limits"] == [
                "max_message_bytes": 65_536, "max_subscriptions": 16, "ping_interval_ms": 20_000, "commands_per_second": 20, "command_burst": 40,
            ]
        )
        #expect(json.count == 7)
    }

    @Test func subscribedWithStateSplice() throws {
        let state = JSONText.encode(["server_time": 7_000, "stream": ["status": "live", "title": "Spring \"tea\" tasting"], "pinned": ["sku-1042"]])
        let message = ServerMessage.subscribed(
            .init(re: "s1", stream: stream("shop-42"), position: StreamPosition(epoch: epoch, seq: 7), recovered: false, stateJSON: state, replayed: nil)
        )
        let json = try parseObject(message.encode())
        #expect(json["type"] == "subscribed")
        #expect(json["re"] == "s1")
        #expect(json["stream"] == "shop-42")
        #expect(json["epoch"] == .string(epoch))
        #expect(json["seq"] == 7)
        #expect(json["recovered"] == false)
        #expect(json["replayed"] == nil)
        #expect(json["state"] == ["server_time": 7_000, "stream": ["status": "live", "title": "Spring \"tea\" tasting"], "pinned": ["sku-1042"]])
        #expect(json.count == 7)
    }

    @Test func stateSpliceDoesNotConsumeTheSharedBuffer() throws {
        let state = JSONText.encode(["pinned": []])
        let subscribed = ServerMessage.Subscribed(re: "s1", stream: stream("a"), position: StreamPosition(epoch: epoch, seq: 1), recovered: false, stateJSON: state, replayed: nil)
        let first = ServerMessage.subscribed(subscribed).encode()
        let second = ServerMessage.subscribed(subscribed).encode()
        #expect(try parseObject(first) == parseObject(second))
        #expect(state.readableBytes > 0)
        #expect(try parseObject(second)["state"] == ["pinned": []])
    }

    @Test func repliesAndPushesPutTypeFirstAndEscapeTheClientsID() throws {
        let reply = ServerMessage.reply(type: .chatAccepted, re: "a\"b", body: ["message": ["id": "m1"]]).encode()
        #expect(String(buffer: reply).hasPrefix(#"{"type":"chat.accepted","re":"a\"b","#))
        #expect(try parseObject(reply) == ["type": "chat.accepted", "re": "a\"b", "message": ["id": "m1"]])
        let push = ServerMessage.push(type: .presence, stream: stream("shop-42"), body: ["viewers": 3]).encode()
        #expect(try parseObject(push) == ["type": "presence", "stream": "shop-42", "viewers": 3])
        let bare = ServerMessage.reply(type: .intentRecorded, re: "i1", body: [:]).encode()
        #expect(String(buffer: bare) == #"{"type":"intent.recorded","re":"i1"}"#)
    }

    @Test func subscribedRecovered() throws {
        let message = ServerMessage.subscribed(
            .init(re: "s2", stream: stream("shop-42"), position: StreamPosition(epoch: epoch, seq: 9), recovered: true, stateJSON: nil, replayed: 3)
        )
        let json = try parseObject(message.encode())
        #expect(json["recovered"] == true)
        #expect(json["replayed"] == 3)
        #expect(json["state"] == nil)
        #expect(json["seq"] == 9)
        #expect(json.count == 7)
    }

    @Test func unsubscribed() throws {
        let json = try parseObject(ServerMessage.unsubscribed(re: "u1", stream: stream("shop-42")).encode())
        #expect(json == ["type": "unsubscribed", "re": "u1", "stream": "shop-42"])
    }

    @Test func published() throws {
        let receipt = PublishReceipt(stream: stream("shop-42"), position: StreamPosition(epoch: epoch, seq: 7), timestamp: 1_732_660_064_500)
        let json = try parseObject(ServerMessage.published(re: "p7", receipt: receipt).encode())
        #expect(
            json == [
                "type": "published", "re": "p7", "stream": "shop-42", "epoch": .string(epoch), "seq": 7, "ts": .int(1_732_660_064_500),
            ]
        )
    }

    @Test func directlyWrittenRepliesEscapeTheClientsIDAndPutTypeFirst() throws {
        let tricky = "a\"b\\c\u{1}"
        let limits = ServerMessage.Limits(maxMessageBytes: 1, maxSubscriptions: 1, pingIntervalMilliseconds: 1, commandsPerSecond: 1, commandBurst: 1)
        let receipt = PublishReceipt(stream: stream("shop-42"), position: StreamPosition(epoch: epoch, seq: 1), timestamp: 1)
        let messages: [ServerMessage] = [
            .welcome(.init(re: tricky, session: "s", serverTime: 1, sub: tricky, role: "viewer", limits: limits)),
            .published(re: tricky, receipt: receipt),
            .pong(re: tricky, serverTime: 1),
            .unsubscribed(re: tricky, stream: stream("shop-42")),
        ]
        for message in messages {
            let encoded = message.encode()
            #expect(try parseObject(encoded)["re"] == .string(tricky))
            #expect(String(buffer: encoded).hasPrefix(#"{"type":""#))
        }
    }

    /// The directly written messages spell their type in their literal prefix: each is
    /// one of the wire-name table's.
    @Test func directlyWrittenMessagesUseTheWireNameTable() throws {
        let limits = ServerMessage.Limits(maxMessageBytes: 1, maxSubscriptions: 1, pingIntervalMilliseconds: 1, commandsPerSecond: 1, commandBurst: 1)
        let receipt = PublishReceipt(stream: stream("shop-42"), position: StreamPosition(epoch: epoch, seq: 1), timestamp: 1)
        let subscribed = ServerMessage.Subscribed(
            re: "s", stream: stream("shop-42"), position: StreamPosition(epoch: epoch, seq: 9), recovered: true, stateJSON: nil, replayed: 0
        )
        let messages: [(ServerMessage, MessageType)] = [
            (.welcome(.init(re: "w", session: "s", serverTime: 1, sub: "u", role: "viewer", limits: limits)), .welcome),
            (.subscribed(subscribed), .subscribed),
            (.unsubscribed(re: "u", stream: stream("shop-42")), .unsubscribed),
            (.published(re: "p", receipt: receipt), .published),
            (.pong(re: "k", serverTime: 1), .pong),
            (.error(.init(re: "x", code: .badRequest, message: "no")), .error),
            (.event(try event(seq: 1, ts: 1, .announcement, ["text": "hello"])), .event),
        ]
        for (message, type) in messages {
            #expect(try parseObject(message.encode())["type"] == .string(type.rawValue))
        }
    }

    @Test func messagesLeaveRoomForTheFrameHeader() throws {
        let receipt = PublishReceipt(stream: stream("shop-42"), position: StreamPosition(epoch: epoch, seq: 1), timestamp: 1)
        let messages: [ServerMessage] = [
            .published(re: "p", receipt: receipt),
            .pong(re: "k", serverTime: 1),
            .event(try event(seq: 1, ts: 1, .announcement, ["text": "hello"])),
            .error(.init(re: "x", code: .badRequest, message: "no")),
        ]
        for message in messages {
            // The frame header (at most 10 bytes) is later written in front, without a copy.
            #expect(message.encode().readerIndex == ServerMessage.frameHeadroom)
        }
    }

    @Test func pong() throws {
        let json = try parseObject(ServerMessage.pong(re: "k1", serverTime: 1_732_660_070_000).encode())
        #expect(json == ["type": "pong", "re": "k1", "server_time": .int(1_732_660_070_000)])
    }

    @Test func errorWithEverything() throws {
        let json = try parseObject(
            ServerMessage.error(.init(re: "p9", code: .rateLimited, message: "more than 20 commands per second", retryAfterMilliseconds: 250)).encode()
        )
        #expect(
            json == [
                "type": "error", "re": "p9", "code": "rate_limited", "message": "more than 20 commands per second", "retry_after_ms": 250,
            ]
        )
    }

    @Test func errorOmitsNilFields() throws {
        let json = try parseObject(ServerMessage.error(.init(re: nil, code: .badRequest, message: "frame is not a JSON object")).encode())
        #expect(json == ["type": "error", "code": "bad_request", "message": "frame is not a JSON object"])
        #expect(json["re"] == nil)
        #expect(json["retry_after_ms"] == nil)
    }

    @Test func event() throws {
        let pushed = try event(seq: 8, ts: 1_732_660_090_000, .announcement, ["text": "Free shipping / 10 min! ünïcödé"])
        let json = try parseObject(ServerMessage.event(pushed).encode())
        #expect(
            json == [
                "type": "event", "stream": "shop-42", "epoch": .string(epoch), "seq": 8, "ts": .int(1_732_660_090_000),
                "kind": "announcement", "data": ["text": "Free shipping / 10 min! ünïcödé"],
            ]
        )
        #expect(json["id"] == nil)
        #expect(json["re"] == nil)
    }

    @Test func slashesAreNotEscaped() throws {
        let pushed = try event(seq: 1, ts: 1, .streamStarted, ["player_url": "https://cdn.example.com/p.m3u8"])
        let text = String(buffer: ServerMessage.event(pushed).encode())
        #expect(text.contains("https://cdn.example.com/p.m3u8"))
    }

    @Test func encodesIntoTheGivenAllocator() {
        let buffer = ServerMessage.pong(re: "k", serverTime: 0).encode(allocator: ByteBufferAllocator())
        #expect(buffer.readableBytes > 0)
        #expect(buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == UInt8(ascii: "{"))
    }
}
