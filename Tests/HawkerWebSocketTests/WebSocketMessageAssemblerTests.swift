import HawkerWebSocket
import NIOCore
import NIOWebSocket
import Testing

@Suite("WebSocketMessageAssembler")
struct WebSocketMessageAssemblerTests {

    private func assembler(max: Int = 1_000, compression: Bool = false) -> WebSocketMessageAssembler {
        WebSocketMessageAssembler(maxMessageBytes: max, compressionNegotiated: compression)
    }

    // MARK: - Result helpers

    private func failCode(_ result: WebSocketMessageAssembler.Result) -> UInt16? {
        if case .fail(let code, _) = result { return code }
        return nil
    }

    private func message(_ result: WebSocketMessageAssembler.Result) -> (kind: WebSocketMessage.Kind, bytes: [UInt8], compressed: Bool)? {
        if case .message(let kind, let buffer, let compressed) = result { return (kind, bytes(buffer), compressed) }
        return nil
    }

    private func needsMore(_ result: WebSocketMessageAssembler.Result) -> Bool {
        if case .needMoreFrames = result { return true }
        return false
    }

    private func close(_ result: WebSocketMessageAssembler.Result) -> WebSocketClosePayload? {
        if case .close(let payload) = result { return payload }
        return nil
    }

    // MARK: - Data messages

    @Test func unfragmentedText() throws {
        var assembler = assembler()
        let result = try #require(message(assembler.receive(clientFrame(.text, "héllo"))))
        #expect(result.kind == .text)
        #expect(result.bytes == Array("héllo".utf8))
        #expect(!result.compressed)
    }

    @Test func unfragmentedBinary() throws {
        var assembler = assembler()
        let payload: [UInt8] = [0x00, 0xFF, 0xC0, 0x80, 0xED, 0xA0, 0x80]  // not UTF-8, fine for binary
        let result = try #require(message(assembler.receive(clientFrame(.binary, payload))))
        #expect(result.kind == .binary)
        #expect(result.bytes == payload)
    }

    @Test func emptyText() throws {
        var assembler = assembler()
        let result = try #require(message(assembler.receive(clientFrame(.text, ""))))
        #expect(result.bytes.isEmpty)
    }

    @Test func fragmentedTextInThreeFrames() throws {
        var assembler = assembler()
        #expect(needsMore(assembler.receive(clientFrame(.text, "one ", fin: false))))
        #expect(needsMore(assembler.receive(clientFrame(.continuation, "two ", fin: false))))
        let result = try #require(message(assembler.receive(clientFrame(.continuation, "three"))))
        #expect(result.kind == .text)
        #expect(result.bytes == Array("one two three".utf8))
    }

    @Test func nextMessageAfterAFragmentedOne() throws {
        var assembler = assembler()
        _ = assembler.receive(clientFrame(.binary, [1, 2], fin: false))
        #expect(try #require(message(assembler.receive(clientFrame(.continuation, [3])))).bytes == [1, 2, 3])
        #expect(try #require(message(assembler.receive(clientFrame(.text, "next")))).bytes == Array("next".utf8))
    }

    @Test func controlFramesInterleavedBetweenFragments() throws {
        var assembler = assembler()
        #expect(needsMore(assembler.receive(clientFrame(.text, "a", fin: false))))

        guard case .ping(let ping) = assembler.receive(clientFrame(.ping, [1, 2, 3])) else {
            Issue.record("ping expected")
            return
        }
        #expect(bytes(ping) == [1, 2, 3])
        #expect(needsMore(assembler.receive(clientFrame(.continuation, "b", fin: false))))

        guard case .pong(let pong) = assembler.receive(clientFrame(.pong, [9])) else {
            Issue.record("pong expected")
            return
        }
        #expect(bytes(pong) == [9])
        let closing = try #require(close(assembler.receive(clientFrame(.connectionClose, closePayload(1000)))))
        #expect(closing.code == 1000)

        let result = try #require(message(assembler.receive(clientFrame(.continuation, "c"))))
        #expect(result.bytes == Array("abc".utf8))
    }

    // MARK: - Framing violations: 1002

    @Test(arguments: [WebSocketOpcode.text, .binary, .continuation, .ping, .pong, .connectionClose])
    func unmaskedFrame(_ opcode: WebSocketOpcode) {
        var assembler = assembler()
        #expect(failCode(assembler.receive(clientFrame(opcode, [], masked: false))) == 1002)
    }

    @Test func rsv2AndRsv3() {
        for compression in [false, true] {
            var assembler = assembler(compression: compression)
            #expect(failCode(assembler.receive(clientFrame(.text, Array("x".utf8), rsv2: true))) == 1002)
            assembler = self.assembler(compression: compression)
            #expect(failCode(assembler.receive(clientFrame(.text, Array("x".utf8), rsv3: true))) == 1002)
            assembler = self.assembler(compression: compression)
            #expect(failCode(assembler.receive(clientFrame(.ping, [], rsv2: true))) == 1002)
        }
    }

    @Test func rsv1WithoutCompression() {
        var assembler = assembler(compression: false)
        #expect(failCode(assembler.receive(clientFrame(.text, "x", rsv1: true))) == 1002)
    }

    @Test func rsv1WithCompressionOnTheFirstDataFrame() throws {
        var assembler = assembler(compression: true)
        let deflated: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]  // not checked here
        let single = try #require(message(assembler.receive(clientFrame(.text, deflated, rsv1: true))))
        #expect(single.compressed)
        #expect(single.kind == .text)
        #expect(single.bytes == deflated)

        // Fragmented: RSV1 on the first frame only; the compressed bytes are not UTF-8-checked.
        #expect(needsMore(assembler.receive(clientFrame(.text, Array(deflated[..<3]), fin: false, rsv1: true))))
        let joined = try #require(message(assembler.receive(clientFrame(.continuation, Array(deflated[3...])))))
        #expect(joined.compressed)
        #expect(joined.bytes == deflated)
    }

    @Test func rsv1OnControlFrames() {
        var assembler = assembler(compression: true)
        #expect(failCode(assembler.receive(clientFrame(.ping, [], rsv1: true))) == 1002)
    }

    @Test func rsv1OnContinuation() {
        var assembler = assembler(compression: true)
        #expect(needsMore(assembler.receive(clientFrame(.text, Array("a".utf8), fin: false, rsv1: true))))
        #expect(failCode(assembler.receive(clientFrame(.continuation, Array("b".utf8), rsv1: true))) == 1002)
    }

    @Test(arguments: [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] as [UInt8])
    func reservedOpcodes(_ raw: UInt8) throws {
        let opcode = try #require(WebSocketOpcode(encodedWebSocketOpcode: raw))
        var assembler = assembler()
        #expect(failCode(assembler.receive(clientFrame(opcode, []))) == 1002)
    }

    @Test func continuationWithoutStart() {
        var assembler = assembler()
        #expect(failCode(assembler.receive(clientFrame(.continuation, "x"))) == 1002)
        var other = self.assembler()
        #expect(failCode(other.receive(clientFrame(.continuation, "x", fin: false))) == 1002)
    }

    @Test func newDataFrameWhileFragmented() {
        var assembler = assembler()
        _ = assembler.receive(clientFrame(.text, "a", fin: false))
        #expect(failCode(assembler.receive(clientFrame(.text, "b"))) == 1002)

        var binary = self.assembler()
        _ = binary.receive(clientFrame(.binary, [1], fin: false))
        #expect(failCode(binary.receive(clientFrame(.text, "b"))) == 1002)
    }

    // MARK: - Size: 1009

    @Test func sizeLimitAcrossFragments() {
        var assembler = assembler(max: 10)
        #expect(needsMore(assembler.receive(clientFrame(.binary, [UInt8](repeating: 1, count: 6), fin: false))))
        #expect(failCode(assembler.receive(clientFrame(.continuation, [UInt8](repeating: 2, count: 5)))) == 1009)
    }

    @Test func sizeLimitIsInclusive() throws {
        var assembler = assembler(max: 10)
        _ = assembler.receive(clientFrame(.binary, [UInt8](repeating: 1, count: 6), fin: false))
        #expect(try #require(message(assembler.receive(clientFrame(.continuation, [UInt8](repeating: 2, count: 4))))).bytes.count == 10)
        var single = self.assembler(max: 10)
        #expect(failCode(single.receive(clientFrame(.text, String(repeating: "x", count: 11)))) == 1009)
    }

    // MARK: - UTF-8: 1007

    @Test func invalidUTF8InAMiddleFragmentFailsAtThatFragment() {
        var assembler = assembler()
        #expect(needsMore(assembler.receive(clientFrame(.text, "good ", fin: false))))
        // Not final: the assembler must not wait for the end of the message.
        #expect(failCode(assembler.receive(clientFrame(.continuation, [0x61, 0xFF, 0x62], fin: false))) == 1007)
    }

    @Test func invalidUTF8InASingleFrame() {
        var assembler = assembler()
        #expect(failCode(assembler.receive(clientFrame(.text, [0xED, 0xA0, 0x80]))) == 1007)
    }

    @Test func characterSplitAcrossFragmentsIsFine() throws {
        var assembler = assembler()
        let euro = Array("€".utf8)
        #expect(needsMore(assembler.receive(clientFrame(.text, [euro[0]], fin: false))))
        #expect(needsMore(assembler.receive(clientFrame(.continuation, [euro[1]], fin: false))))
        #expect(try #require(message(assembler.receive(clientFrame(.continuation, [euro[2]])))).bytes == euro)
    }

    @Test func textEndingMidCharacter() {
        var assembler = assembler()
        #expect(failCode(assembler.receive(clientFrame(.text, [0x61, 0xE2, 0x82]))) == 1007)

        var fragmented = self.assembler()
        _ = fragmented.receive(clientFrame(.text, [0x61, 0xE2], fin: false))
        #expect(failCode(fragmented.receive(clientFrame(.continuation, [0x82]))) == 1007)
    }

    // MARK: - Close frames

    @Test func closeWithoutPayload() throws {
        var assembler = assembler()
        let payload = try #require(close(assembler.receive(clientFrame(.connectionClose, []))))
        #expect(payload.code == nil)
        #expect(payload.reason == "")
    }

    @Test func closePayloadOfOneByte() {
        var assembler = assembler()
        #expect(failCode(assembler.receive(clientFrame(.connectionClose, [0x03]))) == 1002)
    }

    @Test(arguments: [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535] as [UInt16])
    func invalidCloseCodes(_ code: UInt16) {
        var assembler = assembler()
        #expect(failCode(assembler.receive(clientFrame(.connectionClose, closePayload(code)))) == 1002)
    }

    @Test(arguments: [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999] as [UInt16])
    func validCloseCodes(_ code: UInt16) throws {
        var assembler = assembler()
        let payload = try #require(close(assembler.receive(clientFrame(.connectionClose, closePayload(code, Array("bye ✓".utf8))))))
        #expect(payload.code == code)
        #expect(payload.reason == "bye ✓")
    }

    @Test func closeReasonThatIsNotUTF8() {
        var assembler = assembler()
        #expect(failCode(assembler.receive(clientFrame(.connectionClose, closePayload(1000, [0x61, 0xC0, 0x80])))) == 1007)
    }

    @Test func closePayloadParsingDirectly() throws {
        #expect(throws: WebSocketClosePayload.Failure.protocolError) { try WebSocketClosePayload(parsing: ByteBuffer(bytes: [0x03])) }
        #expect(throws: WebSocketClosePayload.Failure.protocolError) { try WebSocketClosePayload(parsing: ByteBuffer(bytes: closePayload(1005))) }
        #expect(throws: WebSocketClosePayload.Failure.invalidReason) { try WebSocketClosePayload(parsing: ByteBuffer(bytes: closePayload(1000, [0xFF]))) }
        let parsed = try WebSocketClosePayload(parsing: ByteBuffer(bytes: closePayload(4001, Array("slow".utf8))))
        #expect(parsed.code == 4001)
        #expect(parsed.reason == "slow")
    }
}
