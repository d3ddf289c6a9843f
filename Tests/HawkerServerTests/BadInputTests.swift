import Foundation
import HawkerAuth
import HawkerClient
import HawkerHub
import HawkerProtocol
import HawkerServer
import HawkerWebSocket
import NIOCore
import NIOWebSocket
import Testing

/// Bad input gets the documented error or close code, and the server goes on serving.
@Suite struct BadInputTests {
    private func expectStillServing(_ server: TestGateway) async throws {
        let other = try await server.client(.viewer, streams: ["x"])
        try await other.send(["type": "ping", "id": "alive"])
        #expect(try await other.receive()["type"] == "pong")
        await other.close()
    }

    @Test func invalidUTF8ClosesWith1007() async throws {
        let server = try await TestGateway.start()
        let client = try await server.open()
        try await client.socket.send(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: [0x7B, 0xC3, 0x28, 0x7D])))
        #expect(try await client.closeCode() == 1007)
        try await expectStillServing(server)
        await server.stop()
    }

    @Test func oversizedMessageClosesWith1009() async throws {
        let server = try await TestGateway.start { $0.webSocket.maxMessageBytes = 1_024 }
        let client = try await server.open()
        try await client.socket.send(text: String(repeating: "a", count: 2_000))
        #expect(try await client.closeCode() == 1009)
        try await expectStillServing(server)
        await server.stop()
    }

    @Test func oversizedFragmentedMessageClosesWith1009() async throws {
        let server = try await TestGateway.start { $0.webSocket.maxMessageBytes = 1_024 }
        let client = try await server.open()
        for index in 0..<3 {
            let opcode: WebSocketOpcode = index == 0 ? .text : .continuation
            try await client.socket.send(WebSocketFrame(fin: index == 2, opcode: opcode, data: ByteBuffer(string: String(repeating: "b", count: 500))))
        }
        #expect(try await client.closeCode() == 1009)
        await server.stop()
    }

    @Test func binaryFramesCloseWith1003() async throws {
        let server = try await TestGateway.start()
        let client = try await server.open()
        try await client.socket.send(WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: [1, 2, 3])))
        #expect(try await client.closeCode() == 1003)
        await server.stop()
    }

    @Test func unmaskedFramesCloseWith1002() async throws {
        let server = try await TestGateway.start()
        let client = try await server.open()
        try await client.socket.send(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "{}")), masked: false)
        #expect(try await client.closeCode() == 1002)
        await server.stop()
    }

    @Test func reservedBitsAndOpcodesCloseWith1002() async throws {
        let server = try await TestGateway.start()
        let rsv = try await server.open()
        try await rsv.socket.send(WebSocketFrame(fin: true, rsv2: true, opcode: .text, data: ByteBuffer(string: "{}")))
        #expect(try await rsv.closeCode() == 1002)
        let opcode = try await server.open()
        try await opcode.socket.send(WebSocketFrame(fin: true, opcode: WebSocketOpcode(encodedWebSocketOpcode: 0x3)!, data: ByteBuffer()))
        #expect(try await opcode.closeCode() == 1002)
        try await expectStillServing(server)
        await server.stop()
    }

    @Test func malformedCommandsGetErrorFramesNotCloses() async throws {
        let server = try await TestGateway.start()
        let client = try await server.client(.viewer, streams: ["x"])
        let cases: [(String, String, String?)] = [
            ("{nope", "bad_request", nil),
            ("[1,2]", "bad_request", nil),
            (#"{"type":"dance","id":"7"}"#, "unknown_command", "7"),
            (#"{"type":"subscribe","id":"8","stream":"bad id!"}"#, "invalid_stream", "8"),
            (#"{"type":"subscribe","stream":"x"}"#, "bad_request", nil),
            (String(repeating: "[", count: 200) + String(repeating: "]", count: 200), "bad_request", nil),
            (#"{"type":"connect","id":"9","token":"t"}"#, "already_connected", "9"),
            (#"{"type":"unsubscribe","id":"10","stream":"x"}"#, "not_subscribed", "10"),
        ]
        for (text, code, re) in cases {
            try await client.socket.send(text: text)
            let reply = try await client.receive()
            #expect(reply["type"] == "error", "for \(text)")
            #expect(reply["code"]?.stringValue == code, "for \(text)")
            #expect(reply["re"]?.stringValue == re, "for \(text)")
            #expect(reply["message"]?.stringValue?.isEmpty == false)
        }
        await client.close()
        await server.stop()
    }

    @Test func commandsBeforeConnectAreRefused() async throws {
        let server = try await TestGateway.start()
        let client = try await server.open()
        try await client.send(["type": "subscribe", "id": "1", "stream": "x"])
        let reply = try await client.receive()
        #expect(reply["code"] == "not_connected")
        #expect(reply["re"] == "1")
        await client.close()
        await server.stop()
    }

    @Test func floodsAreRateLimitedThenClosedWith4002() async throws {
        let server = try await TestGateway.start {
            $0.commandsPerSecond = 1
            $0.commandBurst = 5
        }
        let client = try await server.client(.viewer, streams: ["x"])
        for index in 0..<40 {
            try? await client.send(["type": "ping", "id": "\(index)"])
        }
        var pongs = 0
        var limited = 0
        var close: UInt16?
        while close == nil {
            do {
                let reply = try await client.receive()
                if reply["type"] == "pong" { pongs += 1 }
                if reply["code"] == "rate_limited" {
                    limited += 1
                    #expect(reply["retry_after_ms"]?.intValue ?? 0 > 0)
                }
            } catch HawkerConnection.ConnectionError.closed(let code, _) {
                close = code
            }
        }
        #expect(pongs < 40)
        #expect(limited >= 1)
        #expect(close == 4002)
        try await expectStillServing(server)
        await server.stop()
    }

    @Test func repeatedInvalidCommandsSpendTheErrorBudget() async throws {
        let server = try await TestGateway.start { $0.errorBudget = 3 }
        let client = try await server.client(.viewer, streams: ["x"])
        for _ in 0..<4 {
            try await client.socket.send(text: "{oops")
        }
        #expect(try await client.closeCode() == 4502)
        await server.stop()
    }
}
