import Foundation

/// Matches banned words and phrases on word boundaries, ignoring case, accents and width.
///
/// Text is folded with `[.caseInsensitive, .diacriticInsensitive, .widthInsensitive]` and split
/// into words (runs of letters, marks and digits); zero-width and other default-ignorable
/// characters are skipped so "sc\u{200B}am" is still "scam". A banned entry is split the same
/// way, so "free money" matches the words "free", "money" in sequence with any separators
/// between them, and "scam" matches "SCAM", "Scäm", "scam!" but not "scampi".
///
/// Separator evasion: a run of three or more single-letter words separated by one and the same
/// separator character ("s.c.a.m", "s c a m", "s-c-a-m") is also read as one word. Requiring a
/// single, consistent separator and a whole-word match keeps "a, b, c" or "s c a m p i" from
/// matching "abc" or "scam", and lets "what a s.c.a.m" match. Not handled: a spelled-out word
/// next to a real single-letter word with the same separator ("a s c a m" reads "ascam"), wider
/// gaps ("s  c  a  m"), digit substitution ("sc4m"), and banned words in scripts written without
/// spaces (they match only as whole words).
struct BannedPhraseMatcher: Sendable {
    /// Banned phrases as word sequences, keyed by their first word.
    private var phrasesByFirstWord: [String: [[String]]] = [:]

    init(phrases: [String]) {
        add(phrases)
    }

    func adding(_ phrases: [String]) -> BannedPhraseMatcher {
        var copy = self
        copy.add(phrases)
        return copy
    }

    func matches(_ text: String) -> Bool {
        guard !phrasesByFirstWord.isEmpty else { return false }
        let words = Self.words(in: text)
        if contains(words.map(\.text)) { return true }
        guard let joined = Self.joiningSpelledOutWords(words) else { return false }
        return contains(joined)
    }

    private mutating func add(_ phrases: [String]) {
        for phrase in phrases {
            let words = Self.words(in: phrase).map(\.text)
            guard let first = words.first else { continue }
            if phrasesByFirstWord[first]?.contains(words) == true { continue }
            phrasesByFirstWord[first, default: []].append(words)
        }
    }

    private func contains(_ words: [String]) -> Bool {
        for start in words.indices {
            guard let candidates = phrasesByFirstWord[words[start]] else { continue }
            for phrase in candidates where start + phrase.count <= words.count {
                if words[start..<start + phrase.count].elementsEqual(phrase) { return true }
            }
        }
        return false
    }

    private struct Word {
        var text: String
        /// The separator before this word when it is exactly one scalar, else nil.
        var separatorBefore: Unicode.Scalar?
    }

    private static func words(in text: String) -> [Word] {
        if let ascii = asciiWords(in: text.utf8) { return ascii }
        let folded = text.folding(
            options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive],
            locale: nil)
        var words: [Word] = []
        var current = String.UnicodeScalarView()
        var separators = String.UnicodeScalarView()
        func flushWord() {
            guard !current.isEmpty else { return }
            let separator = separators.count == 1 && !words.isEmpty ? separators.first : nil
            words.append(Word(text: String(current), separatorBefore: separator))
            current = String.UnicodeScalarView()
            separators = String.UnicodeScalarView()
        }
        for scalar in folded.unicodeScalars {
            if scalar.properties.isDefaultIgnorableCodePoint { continue }
            if isWordScalar(scalar) {
                current.append(scalar)
            } else {
                flushWord()
                separators.append(scalar)
            }
        }
        flushWord()
        return words
    }

    /// Words with each spelled-out run ("s", "c", "a", "m" with one repeated separator) joined
    /// into one word; nil if there is no such run, so the common case costs nothing more.
    /// Folding plain ASCII is lower-casing: done on bytes, without Foundation. Nil for
    /// other text. Word characters are ASCII letters and digits, as `isWordScalar` says.
    private static func asciiWords(in bytes: String.UTF8View) -> [Word]? {
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        var words: [Word] = []
        var current: [UInt8] = []
        var separators: [UInt8] = []
        func flushWord() {
            guard !current.isEmpty else { return }
            let separator = separators.count == 1 && !words.isEmpty ? Unicode.Scalar(separators[0]) : nil
            words.append(Word(text: String(decoding: current, as: UTF8.self), separatorBefore: separator))
            current.removeAll(keepingCapacity: true)
            separators.removeAll(keepingCapacity: true)
        }
        for byte in bytes {
            if byte.isASCIILetterOrDigit {
                current.append(byte.asciiLowercased)
            } else {
                flushWord()
                separators.append(byte)
            }
        }
        flushWord()
        return words
    }

    private static func joiningSpelledOutWords(_ words: [Word]) -> [String]? {
        var result: [String] = []
        var run: [String] = []
        var runSeparator: Unicode.Scalar?
        var joinedAny = false
        func flushRun() {
            if run.count >= 3 {
                result.append(run.joined())
                joinedAny = true
            } else {
                result.append(contentsOf: run)
            }
            run.removeAll()
            runSeparator = nil
        }
        for word in words {
            guard word.text.unicodeScalars.count == 1 else {
                flushRun()
                result.append(word.text)
                continue
            }
            guard !run.isEmpty, let separator = word.separatorBefore else {
                flushRun()
                run = [word.text]
                continue
            }
            if runSeparator == nil || runSeparator == separator {
                run.append(word.text)
            } else if run.count >= 3 {
                flushRun()
                run = [word.text]
                continue
            } else {
                // The separator changed: the last letter may start a spelled-out word ("a s.c.a.m").
                let last = run.removeLast()
                flushRun()
                run = [last, word.text]
            }
            runSeparator = separator
        }
        flushRun()
        return joinedAny ? result : nil
    }

    private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark,
            .decimalNumber, .letterNumber, .otherNumber:
            true
        default:
            false
        }
    }
}
