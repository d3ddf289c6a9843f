import Foundation
import HawkerProtocol
import NIOCore
import Testing

/// The command parser against Foundation's JSONDecoder: the same values for valid JSON,
/// a refusal for everything RFC 8259 does not allow.
@Suite struct JSONParserTests {
    private func parse(_ text: String) -> JSONValue? {
        try? JSONParser.parse(ByteBuffer(string: text))
    }

    private func foundation(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test(arguments: [
        #"{}"#, #"[]"#, #"{"a":1}"#, #" { "a" : [ 1 , 2.5 , -3 , 0 , -0 , 2E-2 , 0.25e+1 ] } "#,
        #"{"s":"plain","e":"q\"b\\s\/n\nr\rt\tb\bf\f","u":"\u00e9\u2028\ud83d\ude00"}"#,
        #"{"t":true,"f":false,"n":null,"nested":{"x":[{"y":[]}]}}"#,
        #"{"big":9223372036854775807,"small":-9223372036854775808,"huge":9223372036854775808}"#,
        #"{"dup":1,"dup":2}"#, #""just a string""#, #"42"#, #"[true,false,null]"#,
        #"{"utf8":"ünïcödé ✓ 😀 𝄞"}"#, "{\"type\":\"chat.send\",\"id\":\"1\",\"stream\":\"s\",\"text\":\"hi\"}",
    ])
    func agreesWithFoundationOnValidJSON(_ text: String) throws {
        let ours = try #require(parse(text))
        #expect(ours == foundation(text))
    }

    /// Integers are what is written as one, within ±(2^53 − 1): `1.0` is not a quantity.
    @Test func integersAreWrittenAsIntegersWithinTwoToThe53() throws {
        #expect(parse("1")?.intValue == 1)
        #expect(parse("-0")?.intValue == 0)
        #expect(parse("9007199254740991")?.intValue == JSONValue.maxSafeInteger)
        #expect(parse("-9007199254740991")?.intValue == -JSONValue.maxSafeInteger)
        for text in ["1.0", "1e3", "0.5e+1", "2E0", "9007199254740992", "-9007199254740992", "9223372036854775807", "9223372036854775808", "1e300"] {
            let value = try #require(parse(text), "\(text) is valid JSON")
            #expect(value.intValue == nil, "\(text) read as an integer")
            #expect(value.isNumberOutsideSafeIntegers, "\(text)")
        }
        #expect(parse("1.0") == .double(1))
        #expect(JSONValue.string("1").isNumberOutsideSafeIntegers == false)
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", #"{"a":1,}"#, #"{"a" 1}"#, #"{a:1}"#, "{'a':1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]",
        "[+1]", "[NaN]", "[Infinity]", "[1e999]", "tru", "nul", "[true false]", #"{"a":1}x"#, #"{"a":1}{}"#,
        #"["\x"]"#, #"["\u12"]"#, #"["\ud800"]"#, #"["\udc00"]"#, #"["\ud800\u0041"]"#, "[\"a\u{1}b\"]", "[\"tab\tin\"]",
        "/* c */{}", "[1]//c",
    ])
    func refusesWhatRFC8259Refuses(_ text: String) {
        #expect(parse(text) == nil, "accepted \(text)")
    }

    @Test func refusesInvalidUTF8() {
        var buffer = ByteBuffer(string: #"{"a":""#)
        buffer.writeBytes([0xC3, 0x28])
        buffer.writeString(#""}"#)
        #expect((try? JSONParser.parse(buffer)) == nil)
    }

    @Test func boundsNesting() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect((try? JSONParser.parse(ByteBuffer(string: deep), maxDepth: 64)) == nil)
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect((try? JSONParser.parse(ByteBuffer(string: fine), maxDepth: 64)) != nil)
    }

    /// Random values written by Foundation's encoder parse back to themselves.
    @Test func roundTripsRandomValues() throws {
        var generator = SystemRandomNumberGenerator()
        func random(_ depth: Int) -> JSONValue {
            switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator) {
            case 0: return .null
            case 1: return .bool(Bool.random(using: &generator))
            case 2: return .int(Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &generator))
            case 3: return .double(Double(Int.random(in: -10_000...10_000, using: &generator)) / 8)
            case 4:
                let scalars = (0..<Int.random(in: 0..<12, using: &generator)).map { _ in
                    Unicode.Scalar([0x41, 0x22, 0x5C, 0x0A, 0x01, 0xE9, 0x1F600, 0x4E2D][Int.random(in: 0..<8, using: &generator)])!
                }
                return .string(String(String.UnicodeScalarView(scalars)))
            case 5: return .array((0..<Int.random(in: 0..<4, using: &generator)).map { _ in random(depth + 1) })
            default: return .object(Dictionary(uniqueKeysWithValues: (0..<Int.random(in: 0..<4, using: &generator)).map { ("k\($0)", random(depth + 1)) }))
            }
        }
        for _ in 0..<500 {
            let value = random(0)
            let data = try JSONEncoder().encode(value)
            var buffer = ByteBuffer()
            buffer.writeBytes(data)
            let parsed = try JSONParser.parse(buffer)
            // Doubles that hold integers come back as .int, as from Foundation's decoder.
            #expect(parsed == (try JSONDecoder().decode(JSONValue.self, from: data)))
        }
    }
}
