/// Validates and cleans chat messages before they are broadcast.
///
/// Steps, in order (the first failing one decides the rejection):
/// 1. Line breaks: CRLF, lone CR, U+2028 and U+2029 become `\n`, so clients on any platform
///    post the same text.
/// 2. Control characters: C0 other than `\n` and `\t`, DEL, C1 and the bidi embeddings,
///    overrides and isolates (U+202A–U+202E, U+2066–U+2069) → `.controlCharacters`; they can
///    spoof or garble other viewers' rendering. Zero-width characters (including ZWJ, needed by
///    emoji) are allowed but ignored by the banned-word match.
/// 3. Trim surrounding whitespace; nothing but whitespace or zero-width characters → `.empty`.
/// 4. Runs of whitespace holding more than two newlines collapse to one blank line, so a
///    message cannot push the chat off screen.
/// 5. Length in Unicode scalars, not grapheme clusters: scalars bound the bytes stored and sent,
///    and a grapheme cluster can hide thousands of combining marks. An emoji with modifiers
///    counts several. Over `maxLength` → `.tooLong`.
/// 6. Banned words (see `BannedPhraseMatcher`) → `.bannedWord`; checked before link stripping
///    so a banned word inside a link still rejects.
/// 7. With `stripLinks`, links and email addresses become "[link removed]" (see
///    `LinkDetector`); a message that was nothing but links and punctuation → `.empty`.
public struct ChatTextFilter: Sendable {
    public enum Verdict: Sendable, Hashable {
        case accepted(text: String, linksRemoved: Int)
        case rejected(Rejection)
    }

    public enum Rejection: Sendable, Hashable {
        case empty
        case tooLong(max: Int)
        case controlCharacters
        case bannedWord
    }

    /// Maximum length in Unicode scalars after trimming.
    public let maxLength: Int
    private let matcher: BannedPhraseMatcher

    public init(bannedWords: [String], maxLength: Int = 500) {
        precondition(maxLength > 0, "maxLength must be positive")
        self.init(maxLength: maxLength, matcher: BannedPhraseMatcher(phrases: bannedWords))
    }

    private init(maxLength: Int, matcher: BannedPhraseMatcher) {
        self.maxLength = maxLength
        self.matcher = matcher
    }

    /// A copy that also bans `extraBannedWords` (per-stream additions set by the host).
    public func with(extraBannedWords: [String]) -> ChatTextFilter {
        ChatTextFilter(maxLength: maxLength, matcher: matcher.adding(extraBannedWords))
    }

    /// Validates and cleans a chat message. `stripLinks` is true for viewers (hosts and
    /// moderators may post links).
    public func check(_ text: String, stripLinks: Bool) -> Verdict {
        if let printable = Self.printableASCII(text) {
            // The common case, without scalar-by-scalar rebuilding: no controls, no line
            // breaks, one byte per code point.
            guard !printable.isEmpty else { return .rejected(.empty) }
            guard printable.utf8.count <= maxLength else { return .rejected(.tooLong(max: maxLength)) }
            return verdict(String(printable), stripLinks: stripLinks)
        }
        guard let normalized = Self.normalizeLineBreaks(rejectingControlsIn: text) else {
            return .rejected(.controlCharacters)
        }
        let trimmed = Self.trimWhitespace(normalized)
        guard trimmed.contains(where: { !$0.properties.isWhitespace && !$0.properties.isDefaultIgnorableCodePoint })
        else { return .rejected(.empty) }

        let cleaned = Self.collapseBlankLines(trimmed)
        guard cleaned.count <= maxLength else { return .rejected(.tooLong(max: maxLength)) }

        return verdict(String(cleaned), stripLinks: stripLinks)
    }

    private func verdict(_ message: String, stripLinks: Bool) -> Verdict {
        guard !matcher.matches(message) else { return .rejected(.bannedWord) }
        guard stripLinks else { return .accepted(text: message, linksRemoved: 0) }

        let stripped = LinkDetector.strip(message)
        if stripped.removed > 0, !stripped.keptContent { return .rejected(.empty) }
        return .accepted(text: stripped.text, linksRemoved: stripped.removed)
    }

    /// Returns nil if `text` holds a forbidden control or bidi character.
    /// `text` without surrounding spaces when every byte is printable ASCII (space to
    /// tilde); nil otherwise.
    private static func printableASCII(_ text: String) -> Substring? {
        let bytes = text.utf8
        guard bytes.allSatisfy({ (0x20...0x7E).contains($0) }) else { return nil }
        guard let first = bytes.firstIndex(where: { $0 != 0x20 }), let last = bytes.lastIndex(where: { $0 != 0x20 }) else {
            return ""
        }
        return Substring(text.utf8[first...last])
    }

    private static func normalizeLineBreaks(rejectingControlsIn text: String) -> String.UnicodeScalarView? {
        var output = String.UnicodeScalarView()
        var afterCarriageReturn = false
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let wasAfterCarriageReturn = afterCarriageReturn
            afterCarriageReturn = value == 0x0D
            switch value {
            case 0x0A where wasAfterCarriageReturn:
                continue  // second half of CRLF; the CR already emitted the newline
            case 0x0D, 0x2028, 0x2029:
                output.append("\n")
            case 0x09, 0x0A:
                output.append(scalar)
            case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069:
                return nil
            default:
                output.append(scalar)
            }
        }
        return output
    }

    private static func trimWhitespace(_ scalars: String.UnicodeScalarView) -> Substring.UnicodeScalarView {
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return Substring.UnicodeScalarView() }
        return scalars[first...last]
    }

    private static func collapseBlankLines(_ scalars: Substring.UnicodeScalarView) -> String.UnicodeScalarView {
        var output = String.UnicodeScalarView()
        var run = String.UnicodeScalarView()
        var newlinesInRun = 0
        func flushRun() {
            if newlinesInRun > 2 { output.append(contentsOf: "\n\n".unicodeScalars) } else { output.append(contentsOf: run) }
            run = String.UnicodeScalarView()
            newlinesInRun = 0
        }
        for scalar in scalars {
            if scalar.properties.isWhitespace {
                run.append(scalar)
                if scalar == "\n" { newlinesInRun += 1 }
            } else {
                if !run.isEmpty { flushRun() }
                output.append(scalar)
            }
        }
        flushRun()
        return output
    }
}
