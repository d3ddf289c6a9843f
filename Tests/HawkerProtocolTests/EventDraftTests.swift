import HawkerProtocol
import Testing

@Suite("EventDraft")
struct EventDraftTests {

    @Test func stateKeyPerKind() throws {
        let cases: [(EventKind, [String: JSONValue], String)] = [
            (.catalogSet, ["products": []], "catalog"),
            (.productUpsert, ["product": ["id": "sku-1", "title": "Tea", "merchant": "m1", "price": 1999, "currency": "EUR"]], "product:sku-1"),
            (.productRemoved, ["product": "sku-1"], "product:sku-1"),
            (.productPinned, ["product": "sku-1"], "pinned"),
            (.saleScheduled, ["sale": "s1", "items": [["product": "sku-1", "price": 1]], "starts_at": 10, "ends_at": 20], "sale:s1"),
            (.saleStarted, ["sale": "s1"], "sale:s1"),
            (.saleEnded, ["sale": "s1"], "sale:s1"),
            (.questionAnswered, ["question": "q1"], "question:q1"),
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

    /// Integers are sent as integers, within 2^53 − 1 (PROTOCOL.md §2): `3.0` and 2^53 are
    /// refused at the edge, before any arithmetic sees them.
    @Test(arguments: [JSONValue.double(3), .int(JSONValue.maxSafeInteger + 1), .int(.max), .int(-1)])
    func integersOutsideTheSafeRangeAreInvalid(_ level: JSONValue) {
        do {
            _ = try EventDraft(kind: .stockChanged, data: ["product": "sku-1", "level": level])
            Issue.record("accepted level \(level)")
        } catch {
            #expect(error.code == .invalidEvent)
            #expect(error.message.contains("9007199254740991"))
        }
    }

    @Test func largestSafeIntegerIsAccepted() throws {
        let draft = try EventDraft(kind: .stockChanged, data: ["product": "sku-1", "level": .int(JSONValue.maxSafeInteger)])
        #expect(draft.data["level"]?.intValue == JSONValue.maxSafeInteger)
    }

    @Test func withDataKeepsKindAndStateKey() throws {
        let draft = try EventDraft(kind: .priceChanged, data: ["product": "a", "price": 5])
        var data = draft.data
        data["previous"] = 4
        let filled = draft.withData(data)
        #expect(filled.kind == .priceChanged)
        #expect(filled.stateKey == "price:a")
        #expect(filled.data["previous"] == .int(4))
    }

    @Test func serverGeneratedKindsCannotBePublished() {
        do {
            _ = try EventDraft(kindName: "question.answered", data: ["question": "q1"])
            Issue.record("accepted a server-generated kind")
        } catch {
            #expect(error.code == .invalidEvent)
        }
    }

    @Test func nestedProductsAreCheckedFieldByField() {
        let good: JSONValue = ["id": "p1", "title": "Tea", "merchant": "m1", "price": 100, "currency": "EUR", "variants": [["id": "s", "title": "Small"]], "regions": ["DE"]]
        #expect((try? EventDraft(kind: .productUpsert, data: ["product": good])) != nil)
        var missing = good.objectValue!
        missing["merchant"] = nil
        #expect(throws: EventValidationError.self) { try EventDraft(kind: .productUpsert, data: ["product": .object(missing)]) }
        var badVariant = good.objectValue!
        badVariant["variants"] = [["id": "s"]]
        do {
            _ = try EventDraft(kind: .productUpsert, data: ["product": .object(badVariant)])
            Issue.record("accepted a variant without a title")
        } catch {
            #expect(error.message.contains("product.upsert.product.variants[0]"))
        }
    }
}
