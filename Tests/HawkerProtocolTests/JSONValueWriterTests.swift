import Foundation
import HawkerProtocol
import NIOCore
import Testing

/// The hand-rolled writer must produce JSON that any parser reads back to the same value.
@Suite struct JSONValueWriterTests {
    private func roundTrip(_ value: JSONValue) throws -> JSONValue {
        var buffer = ByteBuffer()
        value.write(into: &buffer)
        return try JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView))
    }

    @Test(arguments: [
        "", "plain", "quote \" and backslash \\", "line\nbreak\ttab\r", "bell \u{7} nul \u{0} esc \u{1B}",
        "ünïcödé ✓ 😀", "</script>", "slash / stays", "\u{2028}\u{2029}", String(repeating: "x", count: 3_000),
    ])
    func stringsRoundTrip(_ text: String) throws {
        #expect(try roundTrip(.string(text)) == .string(text))
        var buffer = ByteBuffer()
        JSONValue.string(text).write(into: &buffer)
        #expect(!String(buffer: buffer).contains("\\/"))
    }

    @Test func nestedValuesRoundTrip() throws {
        let value: JSONValue = [
            "int": 9_007_199_254_740_991, "negative": -42, "zero": 0, "double": .double(2.5), "small": .double(1e-7),
            "true": true, "false": false, "null": .null, "empty": [:], "list": [1, "two", [3], ["four": 4]],
            "key \"quoted\"": "v",
        ]
        #expect(try roundTrip(value) == value)
    }

    @Test func repliesAndEventsAreValidJSON() throws {
        let reply = ServerMessage.reply(type: .chatAccepted, re: "r\"1", body: ["message": ["text": "a\nb"]]).encode()
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(reply.readableBytesView))["message"]?["text"] == "a\nb")
        let draft = try EventDraft(kind: .announcement, data: ["text": "say \"hi\""])
        let event = StreamEvent(stream: StreamID("s")!, epoch: "0123456789abcdef", seq: 3, timestamp: 5, draft: draft)
        let encoded = ServerMessage.event(event).encode()
        let parsed = try JSONDecoder().decode(JSONValue.self, from: Data(encoded.readableBytesView))
        #expect(parsed == ["type": "event", "stream": "s", "epoch": "0123456789abcdef", "seq": 3, "ts": 5, "kind": "announcement", "data": ["text": "say \"hi\""]])
    }
}
