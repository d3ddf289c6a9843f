import HawkerWebSocket
import NIOCore
import NIOWebSocket
import Testing

@Suite("WebSocketFrameHeader")
struct WebSocketFrameHeaderTests {

    private let allocator = ByteBufferAllocator()

    @Test func headerSizes() {
        #expect(WebSocketFrameHeader.size(payloadLength: 0) == 2)
        #expect(WebSocketFrameHeader.size(payloadLength: 125) == 2)
        #expect(WebSocketFrameHeader.size(payloadLength: 126) == 4)
        #expect(WebSocketFrameHeader.size(payloadLength: 65_535) == 4)
        #expect(WebSocketFrameHeader.size(payloadLength: 65_536) == 10)
    }

    @Test(
        arguments: [
            (0, [0x81, 0x00]),
            (125, [0x81, 0x7D]),
            (126, [0x81, 0x7E, 0x00, 0x7E]),
            (65_535, [0x81, 0x7E, 0xFF, 0xFF]),
            (65_536, [0x81, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]),
        ] as [(Int, [UInt8])])
    func headerBytes(_ length: Int, _ expected: [UInt8]) {
        var buffer = allocator.buffer(capacity: 10)
        WebSocketFrameHeader.write(into: &buffer, opcode: .text, payloadLength: length)
        #expect(bytes(buffer) == expected)
        #expect(buffer.readableBytes == WebSocketFrameHeader.size(payloadLength: length))
    }

    @Test func finRsv1AndOpcodeBits() {
        var buffer = allocator.buffer(capacity: 2)
        WebSocketFrameHeader.write(into: &buffer, opcode: .binary, fin: false, rsv1: true, payloadLength: 3)
        #expect(bytes(buffer) == [0x42, 0x03])
        buffer.clear()
        WebSocketFrameHeader.write(into: &buffer, opcode: .ping, payloadLength: 0)
        #expect(bytes(buffer) == [0x89, 0x00])
    }

    @Test(arguments: [0, 125, 126, 65_535, 65_536])
    func wholeFrame(_ length: Int) throws {
        let payload = ByteBuffer(repeating: 0x2A, count: length)
        let frame = WebSocketFrameHeader.frame(opcode: .text, payload: payload, allocator: allocator)
        let parsed = try #require(ParsedFrame(frame))
        #expect(parsed.fin)
        #expect(parsed.opcode == 0x1)
        #expect(parsed.payload.count == length)
        #expect(frame.readableBytes == WebSocketFrameHeader.size(payloadLength: length) + length)
    }

    @Test func compressedTextFrameSetsRsv1() throws {
        let frame = WebSocketFrameHeader.textFrame(ByteBuffer(string: "x"), compressed: true, allocator: allocator)
        let parsed = try #require(ParsedFrame(frame))
        #expect(parsed.rsv1)
        #expect(parsed.opcode == 0x1)
    }

    @Test func closeFrameWithShortReason() throws {
        let parsed = try #require(ParsedFrame(WebSocketFrameHeader.closeFrame(code: 4001, reason: "slow", allocator: allocator)))
        #expect(parsed.opcode == 0x8)
        #expect(parsed.fin)
        #expect(parsed.closeCode == 4001)
        #expect(parsed.closeReason == "slow")
    }

    @Test(arguments: [
        String(repeating: "x", count: 300),
        String(repeating: "é", count: 100),  // 2-byte characters: 123 is odd
        "a" + String(repeating: "€", count: 60),  // 3-byte characters, offset by one
        "ab" + String(repeating: "😀", count: 40),  // 4-byte characters
    ])
    func closeFrameCutsLongReasonsOnACharacterBoundary(_ reason: String) throws {
        let parsed = try #require(ParsedFrame(WebSocketFrameHeader.closeFrame(code: 1000, reason: reason, allocator: allocator)))
        #expect(parsed.payload.count <= 125)
        #expect(parsed.payload.count >= 125 - 3)  // cut by less than one character
        #expect(parsed.closeCode == 1000)
        let cut = try #require(parsed.closeReason)  // still valid UTF-8
        #expect(reason.hasPrefix(cut))
        #expect(!cut.isEmpty)
    }

    @Test func closeFrameKeepsA123ByteReason() throws {
        let reason = String(repeating: "r", count: 123)
        let parsed = try #require(ParsedFrame(WebSocketFrameHeader.closeFrame(code: 1001, reason: reason, allocator: allocator)))
        #expect(parsed.payload.count == 125)
        #expect(parsed.closeReason == reason)
    }

    /// A payload with room in front of it, as the server's message encoder leaves.
    private func payloadWithHeadroom(_ length: Int, headroom: Int = 10) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: headroom + length)
        buffer.moveWriterIndex(forwardBy: headroom)
        buffer.moveReaderIndex(forwardBy: headroom)
        buffer.writeRepeatingByte(0x2A, count: length)
        return buffer
    }

    @Test(arguments: [0, 125, 126, 65_535, 65_536])
    func headroomTakesTheHeaderInPlace(_ length: Int) throws {
        let frame = WebSocketFrameHeader.textFrame(payloadWithHeadroom(length), allocator: allocator)
        let parsed = try #require(ParsedFrame(frame))
        #expect(parsed.fin)
        #expect(parsed.opcode == 0x1)
        #expect(parsed.payload == [UInt8](repeating: 0x2A, count: length))
        #expect(frame.readableBytes == WebSocketFrameHeader.size(payloadLength: length) + length)
        // Written into the room in front: the frame starts inside the same storage.
        #expect(frame.readerIndex == 10 - WebSocketFrameHeader.size(payloadLength: length))
    }

    @Test func headroomTooSmallFallsBackToACopy() throws {
        let frame = WebSocketFrameHeader.textFrame(payloadWithHeadroom(200, headroom: 2), allocator: allocator)
        let parsed = try #require(ParsedFrame(frame))
        #expect(parsed.payload == [UInt8](repeating: 0x2A, count: 200))
        #expect(frame.readerIndex == 0)
    }

    @Test func aPayloadStillHeldElsewhereIsNotChanged() throws {
        let payload = payloadWithHeadroom(5)
        let kept = payload
        let frame = WebSocketFrameHeader.textFrame(payload, allocator: allocator)
        #expect(try #require(ParsedFrame(frame)).payload == [UInt8](repeating: 0x2A, count: 5))
        // The copy the caller kept reads as before, header or not.
        #expect(kept.readerIndex == 10)
        #expect(bytes(kept) == [UInt8](repeating: 0x2A, count: 5))
    }
}
