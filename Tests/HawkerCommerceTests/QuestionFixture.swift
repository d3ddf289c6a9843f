import Foundation

/// The labelled questions in Fixtures/questions.json.
struct QuestionFixture: Decodable {
    struct Cluster: Decodable {
        let label: String
        /// Surface variants of one intent.
        let questions: [String]
        /// Rewordings with a different key word, which a synonym-free matcher is not expected to merge.
        let paraphrases: [String]?

        func phrasings(includingParaphrases: Bool) -> [String] {
            includingParaphrases ? questions + (paraphrases ?? []) : questions
        }
    }

    struct Item {
        let label: String
        let text: String
    }

    let description: String
    let clusters: [Cluster]

    static func load() throws -> QuestionFixture {
        guard let url = Bundle.module.url(forResource: "questions", withExtension: "json", subdirectory: "Fixtures") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try JSONDecoder().decode(QuestionFixture.self, from: Data(contentsOf: url))
    }

    /// Round-robin over clusters (every cluster's first phrasing, then every second, ...), so
    /// phrasings of one intent arrive far apart, as in a busy chat, and never first as a block.
    func interleaved(includingParaphrases: Bool) -> [Item] {
        let lists = clusters.map { ($0.label, $0.phrasings(includingParaphrases: includingParaphrases)) }
        let rounds = lists.map(\.1.count).max() ?? 0
        var items: [Item] = []
        for round in 0..<rounds {
            for (label, phrasings) in lists where round < phrasings.count {
                items.append(Item(label: label, text: phrasings[round]))
            }
        }
        return items
    }
}
