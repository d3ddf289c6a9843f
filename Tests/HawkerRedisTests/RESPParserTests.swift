import NIOCore
import NIOTestUtils
import Testing

@testable import HawkerRedis

@Suite struct RESPParserTests {
    private func parse(_ text: String, limits: RESPParser.Limits = .init()) throws -> RESPValue? {
        var buffer = ByteBuffer(string: text)
        return try RESPParser(limits: limits).parse(&buffer)
    }

    @Test func everyRESP3TypeReads() throws {
        #expect(try parse("+OK\r\n") == .simpleString("OK"))
        #expect(try parse("-ERR wrong\r\n") == .error("ERR wrong"))
        #expect(try parse(":-42\r\n") == .integer(-42))
        #expect(try parse("$5\r\nhe\r\no\r\n") == .bulkString(ByteBuffer(string: "he\r\no")))
        #expect(try parse("$0\r\n\r\n") == .bulkString(ByteBuffer()))
        #expect(try parse("_\r\n") == .null)
        #expect(try parse("#t\r\n") == .boolean(true))
        #expect(try parse(",1.5\r\n") == .double(1.5))
        #expect(try parse(",-inf\r\n") == .double(-.infinity))
        #expect(try parse("(3492890328409238509324850943850943825024385\r\n") == .bigNumber("3492890328409238509324850943850943825024385"))
        #expect(try parse("!21\r\nSYNTAX invalid syntax\r\n") == .error("SYNTAX invalid syntax"))
        #expect(try parse("=15\r\ntxt:Some string\r\n") == .bulkString(ByteBuffer(string: "Some string")))
        #expect(try parse("*2\r\n:1\r\n*1\r\n+x\r\n") == .array([.integer(1), .array([.simpleString("x")])]))
        #expect(try parse("~1\r\n+a\r\n") == .set([.simpleString("a")]))
        #expect(try parse("%1\r\n+k\r\n:7\r\n") == .map([.init(.simpleString("k"), .integer(7))]))
        #expect(try parse(">2\r\n+message\r\n+x\r\n") == .push([.simpleString("message"), .simpleString("x")]))
        #expect(try parse("|1\r\n+ttl\r\n:3\r\n:9\r\n") == .integer(9), "an attribute is read past")
    }

    @Test func resp2NullsReadAsNull() throws {
        #expect(try parse("$-1\r\n") == .null)
        #expect(try parse("*-1\r\n") == .null)
    }

    @Test func aValueCutAnywhereIsReadOnceWhole() throws {
        let text = "*3\r\n$5\r\nhello\r\n%1\r\n+k\r\n,2.5\r\n>2\r\n:1\r\n_\r\n"
        let whole = try #require(try parse(text))
        for cut in 0..<text.utf8.count {
            var buffer = ByteBuffer(bytes: Array(text.utf8.prefix(cut)))
            #expect(try RESPParser().parse(&buffer) == nil)
            #expect(buffer.readableBytes == cut, "an incomplete value consumes nothing")
        }
        var two = ByteBuffer(string: text + "+next\r\n")
        #expect(try RESPParser().parse(&two) == whole)
        #expect(try RESPParser().parse(&two) == .simpleString("next"))
        #expect(two.readableBytes == 0)
    }

    @Test func theDecoderReadsByteByByte() throws {
        let pairs: [(String, [RESPValue])] = [
            ("+OK\r\n:1\r\n", [.simpleString("OK"), .integer(1)]),
            ("$3\r\nabc\r\n*2\r\n$1\r\na\r\n_\r\n", [.bulkString(ByteBuffer(string: "abc")), .array([.bulkString(ByteBuffer(string: "a")), .null])]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(stringInputOutputPairs: pairs) { RESPDecoder(parser: RESPParser()) }
    }

    @Test func whatIsOverALimitIsAViolationNotAnAllocation() throws {
        let small = RESPParser.Limits(maxBulkBytes: 4, maxElements: 3, maxDepth: 2, maxLineBytes: 8)
        let refused = [
            "$5\r\n",  // only the header: refused before the bytes arrive
            "|0\r\n|0\r\n|0\r\n:1\r\n",  // attributes count as levels
            "*4\r\n", "%2\r\n", "*1\r\n*1\r\n*1\r\n:1\r\n", "+123456789", ":99999999999999999999\r\n", "$99999999999999999999999\r\n",
        ]
        for text in refused {
            #expect(throws: RedisError.self, "\(text.debugDescription)") { try parse(text, limits: small) }
        }
        #expect(try parse("$4\r\nabcd\r\n", limits: small) == .bulkString(ByteBuffer(string: "abcd")))
        #expect(try parse("*1\r\n*1\r\n:1\r\n", limits: small) == .array([.array([.integer(1)])]))
    }

    @Test func malformedInputIsAViolation() {
        for text in ["?x\r\n", ":12a\r\n", "#x\r\n", "$3\r\nabcd\r\n", "+a\rb\n", "_x\r\n", "(12x\r\n", "*-2\r\n", "=2\r\nab\r\n", ",x\r\n"] {
            #expect(throws: RedisError.self, "\(text.debugDescription)") { try parse(text) }
        }
    }

    @Test func commandsAreArraysOfBulkStrings() {
        let command = RedisCommand("SET", ["key", .integer(-7), .bytes(ByteBuffer(bytes: [0, 13, 10]))])
        #expect(String(buffer: command.encoded) == "*4\r\n$3\r\nSET\r\n$3\r\nkey\r\n$2\r\n-7\r\n$3\r\n\0\r\n\r\n")
    }

    @Test func urlsRead() throws {
        let plain = try RedisConfiguration(url: "redis://cache.internal")
        #expect(plain.host == "cache.internal" && plain.port == 6379 && plain.database == 0 && plain.password == nil)
        let full = try RedisConfiguration(url: "redis://hawker:p%40ss@10.0.0.5:6380/2")
        #expect(full.host == "10.0.0.5" && full.port == 6380 && full.database == 2 && full.username == "hawker" && full.password == "p@ss")
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@[::1]:7000")
        #expect(passwordOnly.host == "::1" && passwordOnly.port == 7000 && passwordOnly.username == nil && passwordOnly.password == "secret")
        let slashed = try RedisConfiguration(url: "redis://u%3Ax:a/b:c@h/1")
        #expect(slashed.username == "u:x" && slashed.password == "a/b:c" && slashed.host == "h" && slashed.database == 1)
        for bad in ["http://x", "redis://", "redis://host:0", "redis://host:http", "redis://host/db", "rediss://host", "redis://:p%zz@host"] {
            #expect(throws: RedisError.self, "\(bad)") { try RedisConfiguration(url: bad) }
        }
    }
}
