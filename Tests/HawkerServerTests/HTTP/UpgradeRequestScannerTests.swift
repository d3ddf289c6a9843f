import NIOCore
import NIOEmbedded
import NIOHTTP1
import PropertyBased
import Testing

@testable import HawkerServer

/// The fast path's scanner recognises only what NIO's HTTP/1.1 parser reads the same way;
/// everything else is left to that parser.
@Suite struct UpgradeRequestScannerTests {
    private static let browser = """
        GET /ws?token=abc%20d HTTP/1.1\r
        Host: 127.0.0.1:8080\r
        Connection: keep-alive, Upgrade\r
        Pragma: no-cache\r
        User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36\r
        Upgrade: websocket\r
        Origin: https://shop.example\r
        Sec-WebSocket-Version: 13\r
        Accept-Encoding: gzip, deflate, br, zstd\r
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
        Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r
        Sec-WebSocket-Protocol: hawker.v1\r
        \r

        """

    private static func scan(_ text: String) -> UpgradeRequestScanner.Outcome {
        var scanner = UpgradeRequestScanner()
        return scanner.scan(ByteBuffer(string: text))
    }

    @Test func aBrowsersRequestIsRecognisedAsNIOWouldParseIt() throws {
        guard case .upgrade(let head, let length) = Self.scan(Self.browser) else {
            Issue.record("not recognised")
            return
        }
        #expect(length == Self.browser.utf8.count)
        let parsed = try Self.parsedByNIO(Array(Self.browser.utf8))
        #expect(head == parsed.head)
        #expect(parsed.rest == Self.sentinel)
        #expect(head.uri == "/ws?token=abc%20d")
        #expect(head.headers["connection"] == ["keep-alive, Upgrade"])
        #expect(head.headers.count == 11)
    }

    /// A request read a byte at a time: more is needed until its last byte; frames sent
    /// with it are not part of it.
    @Test func aRequestInPiecesAndTheFramesAfterIt() throws {
        var scanner = UpgradeRequestScanner()
        var buffer = ByteBuffer()
        let bytes = Array(Self.browser.utf8)
        for (index, byte) in bytes.enumerated() {
            buffer.writeInteger(byte)
            let outcome = scanner.scan(buffer)
            if index < bytes.count - 1 {
                #expect(outcome == .needMore, "at byte \(index)")
            } else {
                guard case .upgrade(_, let length) = outcome else {
                    Issue.record("not recognised at the end")
                    return
                }
                #expect(length == bytes.count)
            }
        }
        var scannerWithFrames = UpgradeRequestScanner()
        guard case .upgrade(_, let length) = scannerWithFrames.scan(ByteBuffer(bytes: bytes + [0x81, 0x82, 1, 2, 3, 4, 5, 6])) else {
            Issue.record("not recognised with a frame after it")
            return
        }
        #expect(length == bytes.count)
    }

    @Test(arguments: [
        ("another method", "POST /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
        ("a lower-case method", "get /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
        ("HTTP/1.0", "GET /ws HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
        ("not an upgrade", "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("no Connection: upgrade", "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"),
        ("another protocol", "GET /ws HTTP/1.1\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n"),
        ("two Upgrade headers", "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
        ("a body", "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 2\r\n\r\n{}"),
        ("two lengths", "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n"),
        ("chunked", "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ("a tab between Connection's tokens", "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\t, keep-alive\r\n\r\n"),
        ("a bare LF", "GET /ws HTTP/1.1\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
        ("a bare CR", "GET /ws HTTP/1.1\r\nUpgrade: websocket\rX: y\r\nConnection: upgrade\r\n\r\n"),
        ("a folded header", "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nX-A: 1\r\n 2\r\n\r\n"),
        ("a space after the value", "GET /ws HTTP/1.1\r\nUpgrade: websocket \r\nConnection: upgrade\r\n\r\n"),
        ("a tab after the value", "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nCookie: a=b\t\r\n\r\n"),
        ("a space before the colon", "GET /ws HTTP/1.1\r\nUpgrade : websocket\r\nConnection: upgrade\r\n\r\n"),
        ("an empty name", "GET /ws HTTP/1.1\r\n: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
        ("no colon", "GET /ws HTTP/1.1\r\nUpgrade websocket\r\nConnection: upgrade\r\n\r\n"),
        ("a space in the target", "GET /w s HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
        ("a fragment", "GET /ws#x HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
        ("two spaces", "GET /ws  HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
        ("no version", "GET /ws\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
        ("UTF-8 in a value", "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nX-Name: Zoë\r\n\r\n"),
        ("a control byte", "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nX-Name: a\u{1}b\r\n\r\n"),
        ("leading blank line", "\r\nGET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
    ])
    func whatItDoesNotRecogniseGoesToNIO(_ case: String, _ request: String) {
        #expect(Self.scan(request) == .notRecognised, "\(`case`)")
    }

    /// Anything that cannot become an upgrade request is handed over at once, as NIO's
    /// parser would answer it at once: a TLS ClientHello on the plain port, another method.
    @Test func theFirstBytesDecide() {
        var tls = UpgradeRequestScanner()
        #expect(tls.scan(ByteBuffer(bytes: [0x16, 0x03, 0x01])) == .notRecognised)
        var post = UpgradeRequestScanner()
        #expect(post.scan(ByteBuffer(string: "P")) == .notRecognised)
        var get = UpgradeRequestScanner()
        #expect(get.scan(ByteBuffer(string: "GET /")) == .needMore)
        // Each line is judged when it ends, not when the request does.
        for line in ["GET /\r\n", "GET /a b c HTTP/1.1\r\n", "GET /ws HTTP/1.1\r\nBad Name: x\r\n", "GET /ws HTTP/1.1\r\nX: y \r\n"] {
            var scanner = UpgradeRequestScanner()
            #expect(scanner.scan(ByteBuffer(string: line)) == .notRecognised, "\(line.debugDescription)")
        }
        var good = UpgradeRequestScanner()
        #expect(good.scan(ByteBuffer(string: "GET /ws HTTP/1.1\r\nHost: a\r\n")) == .needMore)
    }

    @Test func longHeadsAndManyHeadersGoToNIO() {
        let padded = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nX-Pad: " + String(repeating: "a", count: 9_000)
        var scanner = UpgradeRequestScanner()
        #expect(scanner.scan(ByteBuffer(string: String(padded.prefix(8_000)))) == .needMore)
        #expect(scanner.scan(ByteBuffer(string: padded)) == .notRecognised)
        let many = (0..<64).map { "X-\($0): \($0)\r\n" }.joined()
        #expect(Self.scan("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n" + many + "\r\n") == .notRecognised)
        let enough = (0..<62).map { "X-\($0): \($0)\r\n" }.joined()
        #expect(Self.scan("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n" + enough + "\r\n") != .notRecognised)
    }

    /// Generated upgrade requests (header order, case, spaces, optional headers) with up
    /// to three bytes replaced, inserted or removed: whatever the scanner recognises, NIO's
    /// parser reads as the same upgrade request ending at the same byte, and unchanged
    /// requests are all recognised.
    @Test func whatItRecognisesNIOParsesTheSame() async {
        await propertyCheck(count: 3_000, input: Gen.int(in: 0...0xFFFF).array(of: 25)) { seeds in
            let clean = Self.generatedRequest(seeds)
            var scanner = UpgradeRequestScanner()
            guard case .upgrade(_, let cleanLength) = scanner.scan(ByteBuffer(bytes: clean)), cleanLength == clean.count else {
                Issue.record("not recognised: \(String(decoding: clean, as: UTF8.self).debugDescription)")
                return
            }
            let bytes = Self.mutated(clean, seeds)
            var mutatedScanner = UpgradeRequestScanner()
            guard case .upgrade(let head, let length) = mutatedScanner.scan(ByteBuffer(bytes: bytes)) else { return }
            let text = String(decoding: bytes, as: UTF8.self).debugDescription
            // What follows the blank line (a mutation may put bytes there) is not the request's.
            #expect(length <= bytes.count && bytes[..<length].suffix(4) == Array("\r\n\r\n".utf8)[...], "\(text)")
            #expect(throws: Never.self, "\(text)") {
                let parsed = try Self.parsedByNIO(bytes)
                #expect(parsed.head.method == head.method && parsed.head.uri == head.uri && parsed.head.version == head.version, "\(text)")
                #expect(parsed.head.headers.map { [$0.name, $0.value] } == head.headers.map { [$0.name, $0.value] }, "\(text)")
                #expect(parsed.rest == Array(bytes[length...]) + Self.sentinel, "\(text)")
            }
        }
    }

    // MARK: - Generated requests

    private static func generatedRequest(_ seeds: [Int]) -> [UInt8] {
        func pick<T>(_ options: [T], _ seed: Int) -> T { options[seed % options.count] }
        func spelled(_ name: String, _ seed: Int) -> String {
            pick([name, name.lowercased(), name.uppercased()], seed)
        }
        func line(_ name: String, _ value: String, _ seed: Int) -> String {
            spelled(name, seed) + ":" + pick(["", " ", "  ", "\t"], seed / 3) + value
        }
        var headers = [
            line("Host", "127.0.0.1:8080", seeds[0]),
            line("Upgrade", pick(["websocket", "WebSocket", "WEBSOCKET"], seeds[1]), seeds[1] / 3),
            line("Connection", pick(["Upgrade", "upgrade", "keep-alive, Upgrade", "Upgrade,keep-alive"], seeds[2]), seeds[2] / 4),
            line("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", seeds[3]),
            line("Sec-WebSocket-Version", "13", seeds[4]),
        ]
        let optional = [
            ("Sec-WebSocket-Protocol", "hawker.v1"), ("Origin", "https://shop.example"), ("User-Agent", "test/1.0 (x; y)"),
            ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"), ("Cookie", "a=b; c=d"), ("X-Empty", ""),
            ("Content-Length", "0"),
        ]
        for (index, (name, value)) in optional.enumerated() where seeds[5 + index] % 2 == 0 {
            headers.append(line(name, value, seeds[5 + index] / 2))
        }
        // A few swaps for the order.
        for swap in 0..<3 {
            let a = seeds[12 + swap] % headers.count
            let b = seeds[15 + swap] % headers.count
            headers.swapAt(a, b)
        }
        let target = pick(["/ws", "/ws?token=abc.def-ghi_jkl", "/echo", "/ws?a=1&b=%20", "/", "/ws/../x?y=[1]"], seeds[18])
        return Array(("GET \(target) HTTP/1.1\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n").utf8)
    }

    private static func mutated(_ bytes: [UInt8], _ seeds: [Int]) -> [UInt8] {
        let alphabet = Array(" \t\r\n:/#,%;=\"\\Aa0".utf8) + [0x00, 0x7F, 0xC3, 0xA9, 0xFF]
        var result = bytes
        for mutation in 0..<(seeds[19] % 4) {
            let seed = seeds[20 + mutation]
            let position = (seed >> 6) % (result.count + 1)
            let byte = alphabet[seed % alphabet.count]
            switch (seed >> 4) % 3 {
            case 0 where position < result.count: result[position] = byte
            case 1: result.insert(byte, at: position)
            default: if position < result.count { result.remove(at: position) }
            }
        }
        return result
    }

    /// A client's first WebSocket frame (masked): not HTTP, so NIO's parser fails on it
    /// unless it took the request before it as an upgrade and stopped there.
    private static let sentinel: [UInt8] = [0x81, 0x82, 0x12, 0x34, 0x56, 0x78, 0x69, 0x49]

    /// What NIO's HTTP/1.1 parser makes of `bytes` followed by `sentinel`: the first
    /// request (which must be a complete upgrade request) and the bytes it leaves after it.
    private static func parsedByNIO(_ bytes: [UInt8]) throws -> (head: HTTPRequestHead, rest: [UInt8]) {
        let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
        let channel = EmbeddedChannel(handler: decoder)
        defer { _ = try? channel.finish() }
        try channel.writeInbound(ByteBuffer(bytes: bytes + sentinel))
        guard case .head(let head) = try channel.readInbound(as: HTTPServerRequestPart.self),
            case .end = try channel.readInbound(as: HTTPServerRequestPart.self)
        else {
            throw NotAnUpgradeRequest()
        }
        // NIO's parser stops after an upgrade request and hands the rest on when removed.
        let removed = channel.pipeline.syncOperations.removeHandler(decoder)
        channel.embeddedEventLoop.run()
        try removed.wait()
        var rest: [UInt8] = []
        while let buffer = try channel.readInbound(as: ByteBuffer.self) { rest += buffer.readableBytesView }
        return (head, rest)
    }

    private struct NotAnUpgradeRequest: Error {}
}
