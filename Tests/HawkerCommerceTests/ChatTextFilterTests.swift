import HawkerCommerce
import Testing

@Suite("ChatTextFilter: validation")
struct ChatTextFilterTests {
    let filter = ChatTextFilter(bannedWords: [], maxLength: 10)

    @Test func trimsSurroundingWhitespace() {
        #expect(filter.check("  \n hello\t \n", stripLinks: true) == .accepted(text: "hello", linksRemoved: 0))
    }

    @Test(arguments: ["", "   ", "\n\t\n", "\u{200B}\u{200B}", " \u{FEFF} ", "\u{3000}"])
    func rejectsEmpty(text: String) {
        #expect(filter.check(text, stripLinks: false) == .rejected(.empty))
    }

    @Test func lengthIsCountedInUnicodeScalarsAfterTrimming() {
        #expect(filter.check("  0123456789  ", stripLinks: false) == .accepted(text: "0123456789", linksRemoved: 0))
        #expect(filter.check("0123456789a", stripLinks: false) == .rejected(.tooLong(max: 10)))
        // Ten grapheme clusters of two scalars each: too long in scalars.
        #expect(filter.check(String(repeating: "e\u{301}", count: 10), stripLinks: false) == .rejected(.tooLong(max: 10)))
        // One grapheme cluster hiding many combining marks.
        #expect(filter.check("a" + String(repeating: "\u{301}", count: 20), stripLinks: false) == .rejected(.tooLong(max: 10)))
        #expect(filter.check("👍👍👍", stripLinks: false) == .accepted(text: "👍👍👍", linksRemoved: 0))
    }

    @Test func defaultMaxLengthIs500() {
        let filter = ChatTextFilter(bannedWords: [])
        #expect(filter.maxLength == 500)
        #expect(filter.check(String(repeating: "a", count: 500), stripLinks: false) != .rejected(.tooLong(max: 500)))
        #expect(filter.check(String(repeating: "a", count: 501), stripLinks: false) == .rejected(.tooLong(max: 500)))
    }

    @Test func newlinesAndTabsAreAllowed() {
        #expect(filter.check("a\nb\tc", stripLinks: false) == .accepted(text: "a\nb\tc", linksRemoved: 0))
    }

    @Test func lineBreaksAreNormalized() {
        #expect(filter.check("a\r\nb\rc", stripLinks: false) == .accepted(text: "a\nb\nc", linksRemoved: 0))
        #expect(filter.check("a\u{2028}b", stripLinks: false) == .accepted(text: "a\nb", linksRemoved: 0))
    }

    @Test func longRunsOfBlankLinesCollapse() {
        #expect(filter.check("a\n\nb", stripLinks: false) == .accepted(text: "a\n\nb", linksRemoved: 0))
        #expect(filter.check("a\n\n\n\n\nb", stripLinks: false) == .accepted(text: "a\n\nb", linksRemoved: 0))
        #expect(filter.check("a\n \n\t\n b", stripLinks: false) == .accepted(text: "a\n\nb", linksRemoved: 0))
    }

    @Test(arguments: [
        "a\u{0}b", "a\u{1B}[31mb", "a\u{7F}", "a\u{85}b", "a\u{9F}b", "a\u{0B}b",
        "abc\u{202E}fed", "a\u{202A}b", "a\u{2066}b", "a\u{2069}b",
    ])
    func rejectsControlAndBidiCharacters(text: String) {
        #expect(filter.check(text, stripLinks: false) == .rejected(.controlCharacters))
    }

    @Test(arguments: ["👨‍👩‍👧", "a\u{200E}b", "\u{05E9}\u{05DC}\u{05D5}\u{05DD}"])
    func allowsJoinersMarksAndRightToLeftText(text: String) {
        let filter = ChatTextFilter(bannedWords: [])
        #expect(filter.check(text, stripLinks: false) == .accepted(text: text, linksRemoved: 0))
    }
}

@Suite("ChatTextFilter: banned words")
struct ChatTextFilterBannedWordTests {
    let filter = ChatTextFilter(bannedWords: ["scam", "Free Money"])

    @Test(arguments: [
        "scam", "SCAM", "Scäm", "this is a scam!", "ＳＣＡＭ", "\"scam\"", "scam_alert",
        "s\u{0327}cam", "sc\u{200B}am", "it's free money", "FREE   money!!", "free\nmoney",
        "Frée-Mónéy",
    ])
    func rejects(text: String) {
        #expect(filter.check(text, stripLinks: false) == .rejected(.bannedWord))
    }

    @Test(arguments: ["scampi", "scams", "escam", "free shipping, money back", "money free", "freemoney"])
    func respectsWordBoundaries(text: String) {
        #expect(filter.check(text, stripLinks: false) == .accepted(text: text, linksRemoved: 0))
    }

    @Test(arguments: [
        "s.c.a.m", "s c a m", "S-C-A-M!", "what a s.c.a.m.", "a s-c-a-m", "f r e e money",
        "x s.c.a.m y",
    ])
    func catchesSpelledOutEvasion(text: String) {
        #expect(filter.check(text, stripLinks: false) == .rejected(.bannedWord))
    }

    @Test(arguments: ["s c a m p i", "a, s, c, a, m", "s  c  a  m", "e.g. a b c", "U.S.A. scampi"])
    func spelledOutMatchingAvoidsFalsePositives(text: String) {
        #expect(filter.check(text, stripLinks: false) == .accepted(text: text, linksRemoved: 0))
    }

    @Test func bannedWordInsideALinkRejectsEvenWhenLinksAreAllowed() {
        #expect(filter.check("see scam.example.com", stripLinks: false) == .rejected(.bannedWord))
    }

    @Test func extraBannedWordsAreAddedPerStream() {
        let stream = filter.with(extraBannedWords: ["knockoff", "  ", "DM me"])
        #expect(stream.check("Knockoff bags", stripLinks: false) == .rejected(.bannedWord))
        #expect(stream.check("dm   me", stripLinks: false) == .rejected(.bannedWord))
        #expect(stream.check("scam", stripLinks: false) == .rejected(.bannedWord))
        #expect(filter.check("knockoff bags", stripLinks: false) == .accepted(text: "knockoff bags", linksRemoved: 0))
        #expect(stream.maxLength == filter.maxLength)
    }
}

@Suite("ChatTextFilter: links")
struct ChatTextFilterLinkTests {
    let filter = ChatTextFilter(bannedWords: [])

    @Test(arguments: [
        ("buy at https://evil.example/x now", "buy at [link removed] now"),
        ("see hxxp://evil.example", "see [link removed]"),
        ("go to www.example.com!", "go to [link removed]!"),
        ("shop.example.com/x is cheaper", "[link removed] is cheaper"),
        ("(see bit.ly/abc).", "(see [link removed])."),
        ("Check Example.COM?", "Check [link removed]?"),
        ("mail me@mail.example.com ok", "mail [link removed] ok"),
        ("try example.com:8080/a?b=c#d", "try [link removed]"),
        ("via 10.0.0.1/x", "via [link removed]"),
        ("пример.рф is cheaper", "[link removed] is cheaper"),
        ("a bit.ly/1 and bit.ly/2", "a [link removed] and [link removed]"),
    ])
    func stripsLinks(input: String, expected: String) {
        let removed = expected.ranges(of: "[link removed]").count
        #expect(filter.check(input, stripLinks: true) == .accepted(text: expected, linksRemoved: removed))
    }

    @Test(arguments: [
        "e.g. this one", "U.S. sizes", "version 3.5", "i.e. the red", "ok...", "size 10.5",
        "wait… what", "wait...what", "costs $10.99", "@host.", "1.2.3", "10.5k", "a.b", "-.com",
    ])
    func leavesNonLinksAlone(text: String) {
        #expect(filter.check(text, stripLinks: true) == .accepted(text: text, linksRemoved: 0))
    }

    @Test func hostsAndModeratorsKeepLinks() {
        let text = "buy at https://shop.example.com/x"
        #expect(filter.check(text, stripLinks: false) == .accepted(text: text, linksRemoved: 0))
    }

    @Test func messageOfOnlyLinksIsEmpty() {
        #expect(filter.check("bit.ly/abc", stripLinks: true) == .rejected(.empty))
        #expect(filter.check("  (www.example.com) !! ", stripLinks: true) == .rejected(.empty))
        #expect(filter.check("👍 bit.ly/abc", stripLinks: true) == .accepted(text: "👍 [link removed]", linksRemoved: 1))
    }

    /// Plain ASCII takes a fast path; the same text with one non-ASCII character takes the
    /// general one. Both must judge alike.
    @Test(arguments: [
        "what a SCAM", "free   money now", "s.c.a.m", "see www.example.com/x", "mail me at a@b.co",
        "e.g. size 10.5", "plain words", "see bit.ly/abc", "ok...",
    ])
    func asciiAndGeneralPathsAgree(_ text: String) {
        let filter = ChatTextFilter(bannedWords: ["scam", "free money"])
        let ascii = filter.check(text, stripLinks: true)
        let general = filter.check(text + " é", stripLinks: true)
        switch (ascii, general) {
        case (.rejected(let a), .rejected(let b)):
            #expect(a == b)
        case (.accepted(let a, let linksA), .accepted(let b, let linksB)):
            #expect(a + " é" == b)
            #expect(linksA == linksB)
        default:
            Issue.record("\(text): \(ascii) vs \(general)")
        }
    }
}
