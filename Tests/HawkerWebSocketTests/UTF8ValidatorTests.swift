import HawkerWebSocket
import Testing

@Suite("UTF8Validator")
struct UTF8ValidatorTests {

    /// Feeds all chunks; returns whether they were accepted and ended on a boundary.
    private func validate(_ chunks: [UInt8]...) -> (accepted: Bool, complete: Bool) {
        var validator = UTF8Validator()
        for chunk in chunks {
            let ok = chunk.withUnsafeBytes { validator.feed($0) }
            if !ok { return (false, validator.isComplete) }
        }
        return (true, validator.isComplete)
    }

    @Test func emptyAndASCII() {
        #expect(validate([]) == (true, true))
        #expect(validate(Array("Hello, world! {\"json\": 1}".utf8)) == (true, true))
    }

    @Test(arguments: ["é", "€", "😀", "\u{10FFFF}", "\u{FFFD}", "\u{7FF}", "\u{800}", "\u{FFFF}", "\u{10000}", "κόσμε – 漢字 – 🇪🇺"])
    func validMultiByte(_ text: String) {
        #expect(validate(Array(text.utf8)) == (true, true))
    }

    @Test(
        arguments: [
            [0xC0, 0x80],  // overlong NUL
            [0xC1, 0xBF],  // overlong 2-byte
            [0xE0, 0x80, 0x80],  // overlong 3-byte
            [0xE0, 0x9F, 0xBF],  // overlong U+07FF
            [0xF0, 0x80, 0x80, 0x80],  // overlong 4-byte
            [0xF0, 0x8F, 0xBF, 0xBF],  // overlong U+FFFF
        ] as [[UInt8]])
    func overlongEncodings(_ bytes: [UInt8]) {
        #expect(!validate(bytes).accepted)
    }

    @Test(
        arguments: [
            [0xED, 0xA0, 0x80],  // U+D800
            [0xED, 0xBF, 0xBF],  // U+DFFF
            [0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80],  // a CESU-8 surrogate pair
        ] as [[UInt8]])
    func surrogates(_ bytes: [UInt8]) {
        #expect(!validate(bytes).accepted)
    }

    @Test func lastSurrogateNeighboursAreValid() {
        #expect(validate([0xED, 0x9F, 0xBF]) == (true, true))  // U+D7FF
        #expect(validate([0xEE, 0x80, 0x80]) == (true, true))  // U+E000
    }

    @Test(
        arguments: [
            [0xF4, 0x90, 0x80, 0x80],  // U+110000
            [0xF5, 0x80, 0x80, 0x80],
            [0xF7, 0xBF, 0xBF, 0xBF],
            [0xF8, 0x88, 0x80, 0x80, 0x80],
            [0xFF],
            [0xFE],
        ] as [[UInt8]])
    func beyondU10FFFF(_ bytes: [UInt8]) {
        #expect(!validate(bytes).accepted)
    }

    @Test(arguments: [[0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98]] as [[UInt8]])
    func truncatedSequenceIsAcceptedButIncomplete(_ bytes: [UInt8]) {
        #expect(validate(bytes) == (true, false))
    }

    @Test func loneContinuationByte() {
        #expect(!validate([0x80]).accepted)
        #expect(!validate(Array("ab".utf8) + [0xBF]).accepted)
    }

    @Test func leadByteInterruptedByASCII() {
        #expect(!validate([0xE2, 0x41, 0x41]).accepted)
        #expect(!validate([0xC3, 0xC3, 0xA9]).accepted)
    }

    @Test func characterSplitAcrossTwoFeeds() {
        let euro = Array("€".utf8)  // E2 82 AC
        #expect(validate(Array("price ".utf8) + euro[..<1], Array(euro[1...]) + Array("5".utf8)) == (true, true))
        #expect(validate(Array(euro[..<2]), Array(euro[2...])) == (true, true))
        let emoji = Array("😀".utf8)
        #expect(validate([emoji[0]], [emoji[1]], [emoji[2]], [emoji[3]]) == (true, true))
    }

    @Test func invalidByteInTheMiddleOfALaterFeed() {
        var validator = UTF8Validator()
        let first = Array("all good é ".utf8)
        #expect(first.withUnsafeBytes { validator.feed($0) })
        let second = Array("still ".utf8) + [0xFF] + Array(" fine".utf8)
        #expect(!second.withUnsafeBytes { validator.feed($0) })
    }

    @Test func splitSequenceWithBadContinuationInTheNextFeed() {
        #expect(!validate([0xE2, 0x82], [0x41]).accepted)
        // The second byte of E0 must be A0...BF even across a feed boundary.
        #expect(!validate([0xE0], [0x80, 0x80]).accepted)
    }

    @Test func resetStartsAfresh() {
        var validator = UTF8Validator()
        let partial: [UInt8] = [0xE2, 0x82]
        #expect(partial.withUnsafeBytes { validator.feed($0) })
        #expect(!validator.isComplete)
        validator.reset()
        #expect(validator.isComplete)
        let ascii = Array("x".utf8)
        #expect(ascii.withUnsafeBytes { validator.feed($0) })
    }
}
