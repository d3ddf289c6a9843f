import NIOCore
import NIOEmbedded
import NIOWebSocket
import PropertyBased
import Testing

@testable import HawkerWebSocket

/// The parser against NIOWebSocket's `WebSocketFrameDecoder`, which it replaces in the
/// server's pipeline: the same frames and the same refusals, at the same byte, whatever
/// the bytes and however they are split into reads.
@Suite struct WebSocketFrameParserTests {
    /// What a run of reads decodes to: the frames, how many each read completed, and the
    /// refusal with the read it came in.
    struct Outcome: Equatable, CustomStringConvertible {
        var frames: [WebSocketClientFrame] = []
        var framesPerRead: [Int] = []
        var refusal: (WebSocketFrameParser.Failure, read: Int)?

        static func == (lhs: Outcome, rhs: Outcome) -> Bool {
            lhs.frames == rhs.frames && lhs.framesPerRead == rhs.framesPerRead && lhs.refusal?.0 == rhs.refusal?.0 && lhs.refusal?.read == rhs.refusal?.read
        }

        var description: String {
            "\(frames.map { "\($0.opcode) fin=\($0.fin) \($0.data.readableBytes) B masked=\($0.masked)" }) per read \(framesPerRead) refusal=\(String(describing: refusal))"
        }
    }

    static func parsed(_ reads: [[UInt8]], maxFrameSize: Int) -> Outcome {
        let parser = WebSocketFrameParser(maxFrameSize: maxFrameSize)
        var outcome = Outcome()
        var pending = ByteBuffer()
        for (index, read) in reads.enumerated() {
            pending.writeBytes(read)
            let before = outcome.frames.count
            do {
                while let frame = try parser.next(&pending) { outcome.frames.append(frame) }
            } catch {
                outcome.framesPerRead.append(outcome.frames.count - before)
                outcome.refusal = (error, index)
                return outcome
            }
            outcome.framesPerRead.append(outcome.frames.count - before)
        }
        return outcome
    }

    static func decodedByNIO(_ reads: [[UInt8]], maxFrameSize: Int) throws -> Outcome {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxFrameSize)))
        var outcome = Outcome()
        defer { _ = try? channel.finish() }
        for (index, read) in reads.enumerated() {
            let before = outcome.frames.count
            var refused: NIOWebSocketError?
            do {
                try channel.writeInbound(ByteBuffer(bytes: read))
            } catch let error as NIOWebSocketError {
                refused = error
            }
            while let frame = try channel.readInbound(as: WebSocketFrame.self) { outcome.frames.append(Self.clientFrame(frame)) }
            outcome.framesPerRead.append(outcome.frames.count - before)
            if let refused {
                outcome.refusal = (refused == .invalidFrameLength ? .tooLarge : .invalidControlFrame, index)
                return outcome
            }
        }
        return outcome
    }

    /// NIO's frame as the parser would give it: unmasked, masked or not.
    static func clientFrame(_ frame: WebSocketFrame) -> WebSocketClientFrame {
        WebSocketClientFrame(
            fin: frame.fin, rsv1: frame.rsv1, rsv2: frame.rsv2, rsv3: frame.rsv3, opcode: frame.opcode, masked: frame.maskKey != nil, data: frame.unmaskedData)
    }

    @Test func aMaskedTextFrameAndItsParts() throws {
        let parser = WebSocketFrameParser(maxFrameSize: 1_000)
        var buffer = ByteBuffer(bytes: [0x81, 0x82, 1, 2, 3, 4, 0x61 ^ 1, 0x62 ^ 2, 0x8A])
        let frame = try #require(try parser.next(&buffer))
        #expect(frame.fin && frame.opcode == .text && frame.masked)
        #expect(String(buffer: frame.data) == "ab")
        #expect(buffer.readableBytes == 1, "the next frame's first byte stays")
        #expect(try parser.next(&buffer) == nil)
        #expect(buffer.readableBytes == 1, "nothing read from an incomplete frame")
    }

    @Test func unmaskingEightBytesAtATimeAndTheRest() throws {
        let parser = WebSocketFrameParser(maxFrameSize: 1_000)
        let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        for length in [1, 7, 8, 9, 17, 100] {
            let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
            var buffer = ByteBuffer(bytes: [0x82, 0x80 | UInt8(length)] + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] })
            let frame = try #require(try parser.next(&buffer))
            #expect(Array(frame.data.readableBytesView) == payload, "\(length) bytes")
        }
    }

    @Test func lengthsInTwoAndEightBytes() throws {
        let parser = WebSocketFrameParser(maxFrameSize: 70_000)
        var medium = ByteBuffer(bytes: [0x82, 0x7E, 0x01, 0x00] + [UInt8](repeating: 7, count: 256))
        #expect(try parser.next(&medium)?.data.readableBytes == 256)
        var large = ByteBuffer(bytes: [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0] + [UInt8](repeating: 7, count: 65_536))
        #expect(try parser.next(&large)?.data.readableBytes == 65_536)
        var huge = ByteBuffer(bytes: [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0])
        #expect(throws: WebSocketFrameParser.Failure.tooLarge) { try parser.next(&huge) }
    }

    @Test func refusalsComeFromTheHeaderAlone() {
        let parser = WebSocketFrameParser(maxFrameSize: 100)
        var long = ByteBuffer(bytes: [0x81, 0xE5])  // 101 bytes announced, none sent
        #expect(throws: WebSocketFrameParser.Failure.tooLarge) { try parser.next(&long) }
        var fragmentedPing = ByteBuffer(bytes: [0x09, 0x00])
        #expect(throws: WebSocketFrameParser.Failure.invalidControlFrame) { try parser.next(&fragmentedPing) }
        var longClose = ByteBuffer(bytes: [0x88, 0x7E, 0x00, 0x7E])
        #expect(throws: WebSocketFrameParser.Failure.tooLarge, "over the limit first, as NIO checks") { try parser.next(&longClose) }
        let roomy = WebSocketFrameParser(maxFrameSize: 1_000)
        var longPing = ByteBuffer(bytes: [0x89, 0x7E, 0x00, 0x7E])
        #expect(throws: WebSocketFrameParser.Failure.invalidControlFrame) { try roomy.next(&longPing) }
    }

    /// Generated streams of frames (every first byte, every length form, masked or not,
    /// lengths around the limit and past it, truncated or with bytes changed), cut into
    /// reads anywhere: the parser sees what NIO's decoder sees.
    @Test func whatNIOsDecoderDecodesTheParserParsesAlike() async {
        await propertyCheck(count: 4_000, input: Gen.int(in: 0...0xFFFF).array(of: 40)) { seeds in
            let maxFrameSize = [0, 1, 125, 126, 200, 65_535, 65_536, 100_000][seeds[0] % 8]
            var bytes: [UInt8] = []
            var seed = 1
            for _ in 0..<(1 + seeds[1] % 4) {
                bytes += Self.frame(seeds, &seed, maxFrameSize: maxFrameSize)
            }
            // A few bytes changed, or the tail cut.
            for change in 0..<(seeds[seed % 40] % 3) where !bytes.isEmpty {
                bytes[seeds[(seed + change + 1) % 40] % bytes.count] = UInt8(truncatingIfNeeded: seeds[(seed + change + 2) % 40])
            }
            if seeds[2] % 4 == 0, !bytes.isEmpty { bytes.removeLast(seeds[3] % bytes.count) }
            // Cut into reads.
            var reads: [[UInt8]] = []
            var rest = bytes[...]
            var cut = 4
            while !rest.isEmpty {
                let size = max(1, seeds[cut % 40] % (rest.count + 1))
                reads.append(Array(rest.prefix(size)))
                rest = rest.dropFirst(size)
                cut += 1
            }
            let expected = try #require(try? Self.decodedByNIO(reads, maxFrameSize: maxFrameSize))
            let outcome = Self.parsed(reads, maxFrameSize: maxFrameSize)
            #expect(outcome == expected, "max \(maxFrameSize), bytes \(bytes.prefix(40)), reads \(reads.map(\.count))")
        }
    }

    /// One frame's bytes from the seeds: header in any form, payload of a length near the
    /// limit (or far past it, then without its payload).
    static func frame(_ seeds: [Int], _ seed: inout Int, maxFrameSize: Int) -> [UInt8] {
        func next() -> Int {
            seed += 1
            return seeds[seed % seeds.count]
        }
        let first = UInt8(truncatingIfNeeded: next())
        let masked = next() % 4 != 0
        let length = [0, 1, 5, 125, 126, 127, 300, maxFrameSize, maxFrameSize + 1, 70_000][next() % 10]
        var bytes = [first]
        let mask: UInt8 = masked ? 0x80 : 0
        switch next() % 4 {
        case 0 where length < 126:
            bytes.append(mask | UInt8(length))
        case 1 where length <= 0xFFFF, 0 where length <= 0xFFFF:
            bytes += [mask | 126, UInt8(length >> 8), UInt8(length & 0xFF)]
        case 3:
            // Eight bytes, the top one anything: lengths past Int.max too.
            bytes += [mask | 127, UInt8(truncatingIfNeeded: next())] + [UInt8](repeating: 0, count: 7)
            return bytes
        default:
            bytes.append(mask | 127)
            bytes += (0..<8).reversed().map { UInt8(truncatingIfNeeded: length >> ($0 * 8)) }
        }
        if masked { bytes += (0..<4).map { _ in UInt8(truncatingIfNeeded: next()) } }
        // Payloads past the limit are not sent: the header is refused first.
        if length <= maxFrameSize { bytes += (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) } }
        return bytes
    }
}
