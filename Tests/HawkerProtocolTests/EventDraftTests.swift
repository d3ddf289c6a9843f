import HawkerProtocol
import Testing

@Suite("EventDraft")
struct EventDraftTests {

    @Test func stateKeyPerKind() throws {
        let cases: [(EventKind, [String: JSONValue], String)] = [
            (.productPinned, ["product": "sku-1", "title": "Tea", "price": 1999, "currency": "EUR", "image_url": "https://x/y.jpg"], "pinned"),
            (.productUnpinned, ["product": "sku-1"], "pinned"),
            (.priceChanged, ["product": "sku:9", "price": 10, "currency": "USD"], "price:sku:9"),
            (.stockChanged, ["product": "sku-2", "level": 0], "stock:sku-2"),
            (.announcement, ["text": "Hello"], "announcement"),
            (.streamStarted, ["title": "Show"], "stream"),
            (.streamStarted, [:], "stream"),
            (.streamEnded, [:], "stream"),
        ]
        for (kind, data, key) in cases {
            let draft = try EventDraft(kind: kind, data: data)
            #expect(draft.stateKey == key, "\(kind)")
            #expect(draft.kind == kind)
            #expect(draft.data == data)
        }
        // Every kind is covered above.
        #expect(Set(cases.map(\.0)) == Set(EventKind.allCases))
    }

    @Test func priceKeysDifferPerProduct() throws {
        let one = try EventDraft(kind: .priceChanged, data: ["product": "a", "price": 1, "currency": "EUR"])
        let two = try EventDraft(kind: .priceChanged, data: ["product": "b", "price": 1, "currency": "EUR"])
        #expect(one.stateKey != two.stateKey)
    }

    @Test func parsesKindName() throws {
        let draft = try EventDraft(kindName: "stock.changed", data: ["product": "sku-1", "level": 3])
        #expect(draft.kind == .stockChanged)
        #expect(draft.stateKey == "stock:sku-1")
    }

    @Test func missingDataIsAnEmptyObject() throws {
        let draft = try EventDraft(kindName: "stream.ended", data: nil)
        #expect(draft.data.isEmpty)
    }

    @Test func unknownKindName() {
        #expect(throws: EventValidationError.self) { try EventDraft(kindName: "nope", data: [:]) }
        do {
            _ = try EventDraft(kindName: "nope", data: [:])
        } catch {
            #expect(error.code == .unknownEventKind)
        }
    }

    @Test func nonObjectData() {
        do {
            _ = try EventDraft(kindName: "stream.ended", data: .array([]))
            Issue.record("accepted array data")
        } catch {
            #expect(error.code == .invalidEvent)
        }
    }

    @Test func integralDoubleCountsAsInteger() throws {
        let draft = try EventDraft(kind: .stockChanged, data: ["product": "sku-1", "level": .double(3)])
        #expect(draft.data["level"]?.intValue == 3)
    }

    @Test func withDataKeepsKindAndStateKey() throws {
        let draft = try EventDraft(kind: .priceChanged, data: ["product": "a", "price": 5, "currency": "EUR"])
        var data = draft.data
        data["previous"] = 4
        let filled = draft.withData(data)
        #expect(filled.kind == .priceChanged)
        #expect(filled.stateKey == "price:a")
        #expect(filled.data["previous"] == .int(4))
    }
}
