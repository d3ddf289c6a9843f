import HawkerProtocol
import Testing

@Suite("JSONDepthScanner")
struct JSONDepthScannerTests {

    private func within(_ text: String, _ limit: Int) -> Bool {
        JSONDepthScanner.depthIsWithin(Array(text.utf8), limit: limit)
    }

    @Test func scalarsHaveDepthZero() {
        #expect(within("42", 0))
        #expect(within(#""text""#, 0))
        #expect(!within("[]", 0))
    }

    @Test func countsNesting() {
        #expect(within("[[[]]]", 3))
        #expect(!within("[[[]]]", 2))
        #expect(within(#"{"a":{"b":[1,{"c":2}]}}"#, 4))
        #expect(!within(#"{"a":{"b":[1,{"c":2}]}}"#, 3))
    }

    @Test func siblingsDoNotAddUp() {
        #expect(within("[[],[],[],{}]", 2))
        #expect(within("[][][]", 1))
    }

    @Test func bracketsInsideStringsDoNotCount() {
        #expect(within(#"{"a":"[[[[{{{{"}"#, 1))
        #expect(within(#"{"[[[[":"]]]]"}"#, 1))
    }

    @Test func escapedQuotesDoNotEndTheString() {
        // The string is  \"[[[[  : the escaped quote keeps the scanner inside it.
        #expect(within(#"{"a":"\"[[[["}"#, 1))
        #expect(within(#"{"a":"x\"y\"[[[[\""}"#, 1))
    }

    @Test func escapedBackslashBeforeQuoteEndsTheString() {
        // "\\" is a complete string; the brackets after it are real.
        #expect(within(#"{"a":"\\","b":[[1]]}"#, 3))
        #expect(!within(#"{"a":"\\","b":[[1]]}"#, 2))
    }

    @Test func worksOnAnyByteSequence() {
        let bytes: ArraySlice<UInt8> = Array("[[[[".utf8)[...]
        #expect(!JSONDepthScanner.depthIsWithin(bytes, limit: 3))
        #expect(JSONDepthScanner.depthIsWithin(bytes, limit: 4))
    }
}
