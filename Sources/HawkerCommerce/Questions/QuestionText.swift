import Foundation

/// Text normalisation and matching for viewer questions.
///
/// Deliberately synonym-free: it only removes what varies between surface phrasings of
/// one intent (case, accents, punctuation, filler, inflection, word order), so it merges
/// "Is the lining strong??" with "how strong is the lining" but never "how much is shipping"
/// with "shipping cost?". A merge that is wrong hides a real question from the host, which
/// is worse than showing a duplicate.
public enum QuestionText {
    /// Normalised token set: lowercase, accents folded, punctuation and emoji dropped,
    /// stop words removed, light stemming so "pockets", "pocket" and "stitching"/"stitches" meet.
    public static func tokens(_ text: String) -> Set<String> {
        if let ascii = asciiTokens(text.utf8) { return ascii }
        let folded =
            text
            .folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
            .lowercased()
        var tokens = Set<String>()
        var word = ""
        for character in folded {
            if character.isLetter || character.isNumber {
                word.append(character)
            } else if apostrophes.contains(character) {
                // Joined, not split: "what's" -> "whats" (a stop word), not "what" + a stray "s".
                continue
            } else if !word.isEmpty {
                insert(word, into: &tokens)
                word = ""
            }
        }
        if !word.isEmpty {
            insert(word, into: &tokens)
        }
        return tokens
    }

    /// `tokens` for plain ASCII text, where folding is lower-casing: bytes, no Foundation.
    private static func asciiTokens(_ bytes: String.UTF8View) -> Set<String>? {
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        var tokens = Set<String>()
        var word: [UInt8] = []
        for byte in bytes {
            if byte.isASCIILetterOrDigit {
                word.append(byte.asciiLowercased)
            } else if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "`") {
                continue
            } else if !word.isEmpty {
                insert(String(decoding: word, as: UTF8.self), into: &tokens)
                word.removeAll(keepingCapacity: true)
            }
        }
        if !word.isEmpty { insert(String(decoding: word, as: UTF8.self), into: &tokens) }
        return tokens
    }

    /// Similarity of two token sets in 0...1.
    ///
    /// Jaccard (shared / union), except that an unmatched token with no unmatched counterpart
    /// on the other side (a pure addition) weighs half. Additions are usually context or
    /// filler ("is the lining strong" vs "is the lining inside strong enough": 2/3), while a
    /// token swapped for another usually changes what is asked ("... dishwasher safe" vs
    /// "... oven safe": 1/2, plain Jaccard). The discount is withheld when the only shared
    /// words are degree words ("much", "long"): "how much?" shares no topic with
    /// "how much is shipping", it only shares the kind of answer wanted.
    public static func similarity(_ a: Set<String>, _ b: Set<String>) -> Double {
        guard !a.isEmpty, !b.isEmpty else { return 0 }
        let (smaller, larger) = a.count <= b.count ? (a, b) : (b, a)
        var shared = 0
        var sharesTopic = false
        for token in smaller where larger.contains(token) {
            shared += 1
            if !degreeWords.contains(token) {
                sharesTopic = true
            }
        }
        guard shared > 0 else { return 0 }
        let onlyInA = a.count - shared
        let onlyInB = b.count - shared
        let swapped = min(onlyInA, onlyInB)
        let added = abs(onlyInA - onlyInB)
        let additionWeight = sharesTopic ? 0.5 : 1.0
        let sharedWeight = Double(shared)
        return sharedWeight / (sharedWeight + 2 * Double(swapped) + additionWeight * Double(added))
    }

    /// Whether a chat message looks like a question: a '?' in its trailing punctuation
    /// ("lining strong? 🙏"), or, when it does not end in '!', a question word first after
    /// any greeting ("hey is the lining strong"). The '!' rule keeps exclamations such as
    /// "what a gorgeous dress!" out.
    public static func looksLikeQuestion(_ text: String) -> Bool {
        if let ascii = asciiLooksLikeQuestion(text.utf8) { return ascii }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let trailing = trimmed.reversed().prefix { !$0.isLetter && !$0.isNumber }
        if trailing.contains(where: { $0 == "?" || $0 == "\u{FF1F}" }) {
            return true
        }
        if trailing.contains(where: { $0 == "!" || $0 == "\u{FF01}" }) {
            return false
        }
        let words =
            trimmed
            .folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
            .lowercased()
            .filter { !apostrophes.contains($0) }
            .split { !$0.isLetter && !$0.isNumber }
        guard let first = words.first(where: { !leadingFiller.contains(String($0)) }) else {
            return false
        }
        return questionStarters.contains(String(first))
    }

    /// The same decision for plain ASCII text (most chat), without Foundation or
    /// Character-level work: chat runs this on every message. Nil for other text.
    private static func asciiLooksLikeQuestion(_ bytes: String.UTF8View) -> Bool? {
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        // Trailing punctuation decides first: "...?" is a question, "...!" is not.
        var exclaims = false
        for byte in bytes.reversed() {
            if byte.isASCIILetterOrDigit { break }
            if byte == UInt8(ascii: "?") { return true }
            if byte == UInt8(ascii: "!") { exclaims = true }
        }
        if exclaims { return false }
        // Then the first word that is not filler ("hey, does it ..."); apostrophes are dropped.
        var word: [UInt8] = []
        var iterator = bytes.makeIterator()
        while true {
            let next = iterator.next()
            if let byte = next, byte.isASCIILetterOrDigit {
                word.append(byte.asciiLowercased)
                continue
            }
            if let byte = next, byte == UInt8(ascii: "'") || byte == UInt8(ascii: "`") { continue }
            if !word.isEmpty {
                let text = String(decoding: word, as: UTF8.self)
                if !leadingFiller.contains(text) { return questionStarters.contains(text) }
                word.removeAll(keepingCapacity: true)
            }
            if next == nil { return false }
        }
    }

    private static func insert(_ word: String, into tokens: inout Set<String>) {
        // Single letters are chat shorthand ("u", "r") or apostrophe debris, never a topic;
        // single digits are kept ("size 8").
        guard !stopWords.contains(word), word.count > 1 || word.allSatisfy(\.isNumber) else { return }
        let stemmed = stem(word)
        if !stemmed.isEmpty, !stopWords.contains(stemmed) {
            tokens.insert(stemmed)
        }
    }

    /// Light suffix stripping. Only consistency matters (both forms must land on the same
    /// stem, e.g. "size"/"sizes" -> "siz"), not producing real words; length guards keep
    /// short words ("red", "lining") intact.
    static func stem(_ word: String) -> String {
        if word.allSatisfy(\.isNumber) { return word }
        var stem = word
        if stem.count > 4, stem.hasSuffix("ies") {
            stem = String(stem.dropLast(3)) + "y"
        } else if stem.hasSuffix("sses") || stem.hasSuffix("ches") || stem.hasSuffix("shes") || stem.hasSuffix("xes") {
            stem = String(stem.dropLast(2))
        } else if stem.count > 3, stem.hasSuffix("s"),
            !stem.hasSuffix("ss"), !stem.hasSuffix("us"), !stem.hasSuffix("is")
        {
            stem = String(stem.dropLast())
        }
        if stem.hasSuffix("ing"), stem.count - 3 >= 4 {
            stem = undoubled(String(stem.dropLast(3)))
        } else if stem.hasSuffix("ed"), stem.count - 2 >= 4 {
            stem = undoubled(String(stem.dropLast(2)))
        } else if stem.hasSuffix("ly"), stem.count - 2 >= 4 {
            stem = String(stem.dropLast(2))
        } else if stem.hasSuffix("ation"), stem.count - 5 >= 6 {
            // "cancellation" meets "cancelling"; the length guard keeps "foundation" whole.
            stem = String(stem.dropLast(5))
        }
        if stem.count > 3, stem.hasSuffix("e") {
            stem = String(stem.dropLast())
        }
        return stem
    }

    /// "shipping" -> "shipp" -> "ship"; l, s and z doubles are part of the root ("cancell").
    private static func undoubled(_ stem: String) -> String {
        guard let last = stem.last, stem.count >= 2,
            stem.dropLast().last == last, !"lsz".contains(last)
        else { return stem }
        return String(stem.dropLast())
    }

    private static let apostrophes: Set<Character> = ["'", "\u{2019}", "\u{2018}", "`"]

    /// English function words plus chat filler. Degree words ("much", "long", "many") are
    /// NOT here: they are what separates "how much is shipping" from "how long is shipping".
    static let stopWords: Set<String> = [
        "a", "an", "the", "this", "that", "these", "those", "it", "its", "itself",
        "they", "them", "their", "theirs", "there", "here",
        "i", "me", "my", "mine", "we", "us", "our", "ours", "you", "your", "yours", "u", "ur",
        "she", "he", "her", "his", "him", "yall", "ya",
        "is", "are", "was", "were", "be", "been", "being", "am", "isnt", "arent", "wasnt", "werent",
        "do", "does", "did", "doing", "done", "dont", "doesnt", "didnt",
        "have", "has", "had", "having", "havent", "hasnt",
        "can", "could", "would", "should", "will", "shall", "may", "might", "must",
        "cant", "couldnt", "wouldnt", "shouldnt", "wont",
        "what", "whats", "who", "whos", "whom", "when", "whens", "where", "wheres", "why", "how", "hows", "which",
        "of", "to", "in", "on", "at", "for", "with", "from", "by", "about", "into", "onto", "over", "under",
        "up", "out", "off", "than", "then", "as",
        "and", "or", "but", "if", "so", "not", "no", "nor", "also", "too", "very", "just", "really", "any", "some",
        "hey", "hi", "hello", "hiya", "please", "pls", "plz", "thanks", "thank", "thx", "ty",
        "tell", "know", "wondering", "wonder", "guys", "girl", "babe", "hun", "lol", "omg", "ok", "okay", "oh", "um", "uh",
        "r", "im", "ive", "id", "youre", "theyre", "thats",
        // Light verbs and pronoun "one(s)": "does it come in red" = "do you have it in red",
        // "can the pan go in the dishwasher" = "is the pan dishwasher safe", "any blue ones".
        "one", "ones", "like", "come", "comes", "go", "get", "got",
    ]

    /// Words that name the kind of answer ("how much", "how long") rather than a topic.
    static let degreeWords: Set<String> = ["much", "many", "long", "often", "soon", "far"]

    /// Greetings and fillers skipped before looking for a question word.
    private static let leadingFiller: Set<String> = [
        "hey", "hi", "hello", "hiya", "so", "ok", "okay", "um", "uh", "oh", "and", "but", "also",
        "pls", "please", "plz", "guys", "girl", "babe", "hun", "lol", "omg", "sorry", "quick", "question",
    ]

    private static let questionStarters: Set<String> = [
        "who", "whom", "whose", "whos", "what", "whats", "when", "whens", "where", "wheres", "why", "how", "hows",
        "which", "is", "isnt", "are", "arent", "am", "was", "were", "can", "cant", "could", "couldnt",
        "does", "doesnt", "do", "dont", "did", "didnt", "will", "wont", "would", "wouldnt", "should", "shouldnt",
        "shall", "may", "might", "has", "have", "any", "anyone", "anybody",
    ]
}
