import HawkerCommerce
import Testing

@Suite("Question matching against the labelled fixture")
struct QuestionFixtureTests {
    /// How the aggregator grouped the fixture, with pairwise scores against the labels.
    struct Outcome {
        var items: [QuestionFixture.Item] = []
        var questionIDs: [String] = []
        var aggregator = QuestionAggregator(configuration: .init(maxQuestions: 1_000))

        /// Of the pairs put in one question, the share with the same label.
        var precision: Double {
            let counts = pairCounts
            return counts.together == 0 ? 1 : Double(counts.both) / Double(counts.together)
        }

        /// Of the pairs with the same label, the share put in one question.
        var recall: Double {
            let counts = pairCounts
            return counts.sameLabel == 0 ? 1 : Double(counts.both) / Double(counts.sameLabel)
        }

        private var pairCounts: (together: Int, sameLabel: Int, both: Int) {
            var together = 0
            var sameLabel = 0
            var both = 0
            for i in items.indices {
                for j in items.indices where j > i {
                    let isTogether = questionIDs[i] == questionIDs[j]
                    let isSameLabel = items[i].label == items[j].label
                    if isTogether { together += 1 }
                    if isSameLabel { sameLabel += 1 }
                    if isTogether && isSameLabel { both += 1 }
                }
            }
            return (together, sameLabel, both)
        }
    }

    /// Feeds every phrasing from its own viewer, one second apart, into one aggregator.
    /// maxQuestions is raised so eviction cannot blur what is measured: matching.
    static func run(includingParaphrases: Bool) throws -> Outcome {
        var outcome = Outcome()
        outcome.items = try QuestionFixture.load().interleaved(includingParaphrases: includingParaphrases)
        for (index, item) in outcome.items.enumerated() {
            let result = outcome.aggregator.ask(item.text, user: "viewer-\(index)", now: 1_700_000_000_000 + Int64(index) * 1_000)
            guard let question = result.question else {
                Issue.record("fixture question rejected: \(item.text) -> \(result)")
                outcome.questionIDs.append("rejected-\(index)")
                continue
            }
            outcome.questionIDs.append(question.id)
        }
        return outcome
    }

    @Test("the fixture is big and well formed")
    func fixtureShape() throws {
        let fixture = try QuestionFixture.load()
        let all = fixture.interleaved(includingParaphrases: true)
        #expect(all.count >= 60)
        #expect(Set(all.map(\.text)).count == all.count, "every phrasing appears once")
        #expect(Set(fixture.clusters.map(\.label)).count == fixture.clusters.count, "labels are unique")
        #expect(fixture.clusters.filter { $0.questions.count >= 2 }.count >= 20)
        #expect(fixture.clusters.filter { $0.phrasings(includingParaphrases: true).count == 1 }.count >= 10)
    }

    /// Surface variants are what a synonym-free matcher is for: it must get nearly all of
    /// them (measured 1.000 / 0.935) without merging any near-miss.
    @Test("surface variants: pairwise precision and recall")
    func surfaceVariants() throws {
        let outcome = try Self.run(includingParaphrases: false)
        print("question fixture, surface variants (\(outcome.items.count) phrasings): precision \(outcome.precision), recall \(outcome.recall), \(outcome.aggregator.count) questions")
        #expect(outcome.precision >= 0.98)
        #expect(outcome.recall >= 0.90)
    }

    /// With the paraphrases in, recall is bounded by the synonyms the matcher does not know
    /// ("shipping cost" vs "how much is shipping"); precision must hold (measured 0.972 / 0.671).
    @Test("all phrasings including paraphrases: pairwise precision and recall")
    func allPhrasings() throws {
        let outcome = try Self.run(includingParaphrases: true)
        print("question fixture, all phrasings (\(outcome.items.count)): precision \(outcome.precision), recall \(outcome.recall), \(outcome.aggregator.count) questions")
        #expect(outcome.precision >= 0.95)
        #expect(outcome.recall >= 0.65)
    }

    @Test("clusters that merge fully count every asker once")
    func fullyMergedClusterCounts() throws {
        let outcome = try Self.run(includingParaphrases: true)
        var idsByLabel: [String: Set<String>] = [:]
        var labelsByID: [String: Set<String>] = [:]
        var sizeByLabel: [String: Int] = [:]
        for (item, id) in zip(outcome.items, outcome.questionIDs) {
            idsByLabel[item.label, default: []].insert(id)
            labelsByID[id, default: []].insert(item.label)
            sizeByLabel[item.label, default: 0] += 1
        }
        var fullyMerged: [String: Int] = [:]
        for (label, ids) in idsByLabel where ids.count == 1 && sizeByLabel[label, default: 0] > 1 {
            guard let id = ids.first, labelsByID[id] == [label], let question = outcome.aggregator.question(id) else { continue }
            #expect(question.askers == sizeByLabel[label], "\(label): \(question.askers) askers")
            #expect(question.upvotes == 0)
            fullyMerged[label] = question.askers
        }
        print("question fixture, fully merged clusters: \(fullyMerged.count)")
        #expect(fullyMerged.count >= 22)
        let expected = [
            "lining-strength": 5, "colour-red": 4, "colour-blue": 3, "shipping-time": 4,
            "presenter-size": 4, "cruelty-free": 4, "pan-dishwasher": 4, "tomatoes-organic": 4,
            "discount-code": 4, "charger-included": 4, "zoom-stitching": 3,
        ]
        for (label, askers) in expected {
            #expect(fullyMerged[label] == askers, "\(label)")
        }
    }
}
