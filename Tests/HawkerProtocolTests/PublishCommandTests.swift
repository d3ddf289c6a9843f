import HawkerProtocol
import Testing

/// `publish` frames whose event is refused: the error names the code and keeps `re`.
@Suite("ClientCommand.decode: publish events")
struct PublishCommandTests {

    private func publishError(event: String) throws -> CommandDecodingError {
        try #require(decodeError(#"{"type":"publish","id":"p1","stream":"shop-42","event":\#(event)}"#))
    }

    @Test(arguments: ["chat.message", "Price.Changed", ""])
    func unknownKind(_ kind: String) throws {
        let error = try publishError(event: #"{"kind":"\#(kind)","data":{}}"#)
        #expect(error.code == .unknownEventKind)
        #expect(error.id == "p1")
    }

    @Test(arguments: [
        #"{"kind":"price.changed","data":{"product":"sku-1"}}"#,  // no price
        #"{"kind":"sale.ended","data":{}}"#,  // no sale
        #"{"kind":"catalog.set","data":{}}"#,  // no products
        #"{"kind":"product.upsert","data":{"product":{"id":"a","title":"T","price":1,"currency":"EUR"}}}"#,  // no merchant
        #"{"kind":"price.changed","data":{"price":1499,"currency":"EUR"}}"#,  // no product
        #"{"kind":"stock.changed","data":{"product":"sku-1"}}"#,  // no level
        #"{"kind":"announcement","data":{}}"#,  // no text
        #"{"kind":"product.pinned"}"#,  // no data at all: no product
    ])
    func missingField(_ event: String) throws {
        let error = try publishError(event: event)
        #expect(error.code == .invalidEvent)
        #expect(error.id == "p1")
    }

    @Test(arguments: [
        #"{"kind":"price.changed","data":{"product":"sku-1","price":"1499","currency":"EUR"}}"#,
        #"{"kind":"price.changed","data":{"product":"sku-1","price":14.99,"currency":"EUR"}}"#,
        #"{"kind":"price.changed","data":{"product":42,"price":1499,"currency":"EUR"}}"#,
        #"{"kind":"stock.changed","data":{"product":"sku-1","level":true}}"#,
        #"{"kind":"stock.changed","data":{"product":"sku-1","level":1.5}}"#,
        #"{"kind":"announcement","data":{"text":["hi"]}}"#,
        #"{"kind":"announcement","data":{"text":null}}"#,
    ])
    func wrongType(_ event: String) throws {
        let error = try publishError(event: event)
        #expect(error.code == .invalidEvent)
        #expect(error.id == "p1")
    }

    @Test(arguments: [
        #"{"kind":"stock.changed","data":{"product":"sku-1","level":3,"color":"red"}}"#,
        #"{"kind":"stream.ended","data":{"reason":"done"}}"#,
        #"{"kind":"announcement","data":{"text":"deep","meta":{"n":{"n":{}}}}}"#,
    ])
    func unknownField(_ event: String) throws {
        let error = try publishError(event: event)
        #expect(error.code == .invalidEvent)
        #expect(error.id == "p1")
    }

    @Test(arguments: [
        #"{"kind":"price.changed","data":{"product":"sku-1","price":-5,"currency":"EUR"}}"#,
        #"{"kind":"product.upsert","data":{"product":{"id":"sku-1","title":"T","merchant":"m","price":-1,"currency":"EUR"}}}"#,
        #"{"kind":"stock.changed","data":{"product":"sku-1","level":-1}}"#,
        #"{"kind":"sale.started","data":{"sale":"s1","items":[{"product":"sku-1","price":-1}],"duration_ms":1000}}"#,
    ])
    func negativeAmount(_ event: String) throws {
        let error = try publishError(event: event)
        #expect(error.code == .invalidEvent)
        #expect(error.id == "p1")
    }

    @Test(arguments: ["eur", "EURO", "EU", "E1R", "ÉUR", ""])
    func badCurrency(_ currency: String) throws {
        let error = try publishError(event: #"{"kind":"price.changed","data":{"product":"sku-1","price":1499,"currency":"\#(currency)"}}"#)
        #expect(error.code == .invalidEvent)
        #expect(error.id == "p1")
    }

    @Test(arguments: ["-bad-product", "", "sku 1", String(repeating: "p", count: 65)])
    func badProductID(_ product: String) throws {
        let error = try publishError(event: #"{"kind":"product.unpinned","data":{"product":"\#(product)"}}"#)
        #expect(error.code == .invalidEvent)
        #expect(error.id == "p1")
    }

    @Test func overlongText() throws {
        let text = String(repeating: "x", count: 501)
        let error = try publishError(event: #"{"kind":"announcement","data":{"text":"\#(text)"}}"#)
        #expect(error.code == .invalidEvent)
    }

    @Test func acceptsTheLimitsExactly() throws {
        let text = String(repeating: "x", count: 500)
        let command = try decode(#"{"type":"publish","id":"p1","stream":"s","event":{"kind":"announcement","data":{"text":"\#(text)"}}}"#)
        guard case .publish(_, _, let event) = command else {
            Issue.record("not a publish")
            return
        }
        #expect(event.data["text"] == .string(text))
    }

    // MARK: - The event envelope itself is ill-formed: bad_request (PROTOCOL.md §6.6)

    @Test(arguments: [
        #""stream.started""#,  // vector 11: event is a string
        #"{"data":{}}"#,  // no kind
        #"{"kind":7,"data":{}}"#,  // kind not a string
        #"{"kind":"stream.started","data":"title"}"#,  // data not an object
        #"{"kind":"stream.started","data":[]}"#,
    ])
    func illFormedEvent(_ event: String) throws {
        let error = try publishError(event: event)
        #expect(error.code == .badRequest)
        #expect(error.id == "p1")
    }

    @Test func missingEvent() throws {
        let error = try #require(decodeError(#"{"type":"publish","id":"p1","stream":"shop-42"}"#))
        #expect(error.code == .badRequest)
        #expect(error.id == "p1")
    }
}
