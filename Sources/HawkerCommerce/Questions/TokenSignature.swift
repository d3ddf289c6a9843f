import HawkerProtocol

/// A question's token set as sorted hashes, split into topic words and degree words
/// ("much", "long"), so that comparing two questions is a merge of two short integer
/// arrays instead of hashing strings. The aggregator compares a new question with every
/// kept phrasing, so this is its inner loop.
struct TokenSignature: Sendable, Hashable, Codable {
    private(set) var topics: [UInt64]
    private(set) var degrees: [UInt64]

    init(_ tokens: Set<String>) {
        topics = tokens.filter { !QuestionText.degreeWords.contains($0) }.map(FNV1a.hash).sorted()
        degrees = tokens.filter { QuestionText.degreeWords.contains($0) }.map(FNV1a.hash).sorted()
    }

    var count: Int { topics.count + degrees.count }

    /// `QuestionText.similarity` on signatures: the same formula, the same results (up to
    /// 64-bit hash collisions).
    func similarity(to other: TokenSignature) -> Double {
        guard count > 0, other.count > 0 else { return 0 }
        let sharedTopics = Self.sharedCount(topics, other.topics)
        let shared = sharedTopics + Self.sharedCount(degrees, other.degrees)
        guard shared > 0 else { return 0 }
        let onlyHere = count - shared
        let onlyThere = other.count - shared
        let swapped = min(onlyHere, onlyThere)
        let added = abs(onlyHere - onlyThere)
        let additionWeight = sharedTopics > 0 ? 0.5 : 1.0
        let sharedWeight = Double(shared)
        return sharedWeight / (sharedWeight + 2 * Double(swapped) + additionWeight * Double(added))
    }

    private static func sharedCount(_ a: [UInt64], _ b: [UInt64]) -> Int {
        var i = 0
        var j = 0
        var shared = 0
        while i < a.count, j < b.count {
            if a[i] == b[j] {
                shared += 1
                i += 1
                j += 1
            } else if a[i] < b[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return shared
    }
}
