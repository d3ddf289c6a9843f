import HawkerProtocol
import Testing

@Suite("ClientCommand.decode")
struct ClientCommandTests {

    // MARK: - Every command

    @Test func connectWithToken() throws {
        let command = try decode(#"{"type":"connect","id":"c1","token":"abc.def.ghi"}"#)
        #expect(command == .connect(id: "c1", token: "abc.def.ghi"))
        #expect(command.id == "c1")
    }

    /// A viewer's high-volume actions may go without an id (no reply unless refused);
    /// every other command needs one.
    @Test func fireAndForgetCommandsNeedNoID() throws {
        #expect(try decode(#"{"type":"chat.send","stream":"shop-42","text":"hi"}"#) == .stream(id: nil, stream: stream("shop-42"), action: .chat(text: "hi")))
        #expect(try decode(#"{"type":"chat.send","id":null,"stream":"shop-42","text":"hi"}"#).id == nil)
        #expect(try decode(#"{"type":"question.upvote","stream":"shop-42","question":"q3"}"#) == .stream(id: nil, stream: stream("shop-42"), action: .upvote(question: "q3")))
        #expect(
            try decode(#"{"type":"intent","stream":"shop-42","product":"sku-1","action":"view"}"#)
                == .stream(id: nil, stream: stream("shop-42"), action: .intent(product: "sku-1", variant: nil, action: .view)))
        #expect(try decode(#"{"type":"chat.send","id":"m1","stream":"shop-42","text":"hi"}"#).id == "m1")
        // A refusal of one has no `re`.
        let refused = try #require(decodeError(#"{"type":"chat.send","stream":"bad stream","text":"hi"}"#))
        #expect(refused.id == nil && refused.code == .invalidStream)
        for text in [
            #"{"type":"ping"}"#, #"{"type":"question.ask","stream":"s","text":"why?"}"#, #"{"type":"checkout","stream":"s","items":[]}"#,
            #"{"type":"subscribe","stream":"s"}"#, #"{"type":"chat.send","id":7,"stream":"s","text":"hi"}"#,
            #"{"type":"chat.send","id":"","stream":"s","text":"hi"}"#, #"{"stream":"s"}"#,
        ] {
            let error = try #require(decodeError(text), "\(text)")
            #expect(error.code == .badRequest && error.id == nil, "\(text)")
            #expect(error.message.contains("'id'"), "\(text): \(error.message)")
        }
    }

    /// A link's code or a kept ticket, not both; a stream for the funnel's visit.
    @Test func referralTakesACodeOrATicket() throws {
        #expect(try decode(#"{"type":"referral","id":"r","code":"ANNA10"}"#) == .referral(id: "r", request: .code("ANNA10"), stream: nil))
        #expect(
            try decode(#"{"type":"referral","id":"r","ticket":"ANNA10.1.x","stream":"shop-42"}"#)
                == .referral(id: "r", request: .ticket("ANNA10.1.x"), stream: stream("shop-42")))
        for text in [
            #"{"type":"referral","id":"r"}"#, #"{"type":"referral","id":"r","code":"A","ticket":"t"}"#,
            #"{"type":"referral","id":"r","ticket":""}"#, #"{"type":"referral","id":"r","code":"A","stream":"bad stream"}"#,
        ] {
            #expect(decodeError(text) != nil, "\(text)")
        }
    }

    /// A buyer's request: its order, seller, own id and kind; items and reason optional.
    @Test func anOrderRequestNamesItsOrderSellerIdAndKind() throws {
        #expect(
            try decode(#"{"type":"order.request","id":"r","checkout_id":"ck_1","merchant":"m1","request_id":"q-1","kind":"cancel"}"#)
                == .orderRequest(id: "r", request: OrderRequest(checkoutID: "ck_1", merchant: "m1", id: "q-1", kind: .cancel)))
        #expect(
            try decode(
                #"{"type":"order.request","id":"r","checkout_id":"ck_1","merchant":"m1","request_id":"q-1","kind":"return","items":[{"product":"tee","variant":"m","qty":2}],"reason":"too small"}"#
            )
                == .orderRequest(
                    id: "r",
                    request: OrderRequest(
                        checkoutID: "ck_1", merchant: "m1", id: "q-1", kind: .return, items: [.init(product: "tee", variant: "m", quantity: 2)], reason: "too small")))
        let reason = String(repeating: "x", count: OrderRequest.maxReason + 1)
        for text in [
            #"{"type":"order.request","id":"r","merchant":"m1","request_id":"q","kind":"cancel"}"#,
            #"{"type":"order.request","id":"r","checkout_id":"ck_1","request_id":"q","kind":"cancel"}"#,
            #"{"type":"order.request","id":"r","checkout_id":"ck_1","merchant":"m1","kind":"cancel"}"#,
            #"{"type":"order.request","id":"r","checkout_id":"ck_1","merchant":"m1","request_id":"q","kind":"swap"}"#,
            #"{"type":"order.request","id":"r","checkout_id":"ck_1","merchant":"m1","request_id":"q/1","kind":"cancel"}"#,
            #"{"type":"order.request","id":"r","checkout_id":"ck_1","merchant":"m1","request_id":"q","kind":"return","items":[]}"#,
            #"{"type":"order.request","id":"r","checkout_id":"ck_1","merchant":"m1","request_id":"q","kind":"return","items":[{"product":"tee","qty":0}]}"#,
            #"{"type":"order.request","id":"r","checkout_id":"ck_1","merchant":"m1","request_id":"q","kind":"return","items":[{"product":"tee","qty":9007199254740993}]}"#,
            #"{"type":"order.request","id":"r","checkout_id":"ck_1","merchant":"m1","request_id":"q","kind":"return","reason":""}"#,
            #"{"type":"order.request","id":"r","checkout_id":"ck_1","merchant":"m1","request_id":"q","kind":"return","reason":"\#(reason)"}"#,
        ] {
            let error = decodeError(text)
            #expect(error?.code == .badRequest && error?.id == "r", "\(text)")
        }
    }

    /// A merchant answers a request with cancelled or returned (accepting it: its id is the
    /// return's) or declined, which needs the request it answers.
    @Test func anOrderUpdateAnswersARequest() throws {
        let accepted = try decode(#"{"type":"order.update","id":"u","checkout_id":"ck_1","status":"cancelled","request_id":"q-1"}"#)
        guard case .orders(_, .update(let update)) = accepted else {
            Issue.record("\(accepted)")
            return
        }
        #expect(update.requestID == "q-1" && update.reversal?.id == "q-1" && update.reversal?.items == nil)
        #expect(try decode(#"{"type":"order.update","id":"u","checkout_id":"ck_1","status":"declined","request_id":"q-1","note":"worn"}"#) != accepted)
        for text in [
            #"{"type":"order.update","id":"u","checkout_id":"ck_1","status":"declined"}"#,
            #"{"type":"order.update","id":"u","checkout_id":"ck_1","status":"shipped","request_id":"q-1"}"#,
            #"{"type":"order.update","id":"u","checkout_id":"ck_1","status":"returned","request_id":7}"#,
        ] {
            #expect(decodeError(text)?.code == .badRequest, "\(text)")
        }
    }

    @Test func connectWithoutToken() throws {
        #expect(try decode(#"{"type":"connect","id":"c1"}"#) == .connect(id: "c1", token: nil))
    }

    @Test func subscribeWithoutSince() throws {
        let command = try decode(#"{"type":"subscribe","id":"s1","stream":"shop-42"}"#)
        #expect(command == .subscribe(id: "s1", stream: stream("shop-42"), since: nil))
    }

    @Test func subscribeWithSince() throws {
        let command = try decode(#"{"type":"subscribe","id":"s2","stream":"shop-42","since":{"epoch":"3f9a1c07d2b84e65","seq":5}}"#)
        #expect(command == .subscribe(id: "s2", stream: stream("shop-42"), since: StreamPosition(epoch: "3f9a1c07d2b84e65", seq: 5)))
    }

    @Test func subscribeWithSinceZero() throws {
        let command = try decode(#"{"type":"subscribe","id":"s2","stream":"a","since":{"epoch":"e","seq":0}}"#)
        #expect(command == .subscribe(id: "s2", stream: stream("a"), since: StreamPosition(epoch: "e", seq: 0)))
    }

    @Test func unsubscribe() throws {
        #expect(try decode(#"{"type":"unsubscribe","id":"u1","stream":"shop-42"}"#) == .unsubscribe(id: "u1", stream: stream("shop-42")))
    }

    @Test func publish() throws {
        let command = try decode(
            #"{"type":"publish","id":"p7","stream":"shop-42","event":{"kind":"price.changed","data":{"product":"sku-1042","price":1499,"currency":"EUR"}}}"#
        )
        let expected = try EventDraft(kind: .priceChanged, data: ["product": "sku-1042", "price": 1499, "currency": "EUR"])
        #expect(command == .publish(id: "p7", stream: stream("shop-42"), event: expected))
        guard case .publish(_, _, let event) = command else {
            Issue.record("not a publish: \(command)")
            return
        }
        #expect(event.kind == .priceChanged)
        #expect(event.stateKey == "price:sku-1042")
        #expect(event.data["price"] == .int(1499))
    }

    @Test func ping() throws {
        #expect(try decode(#"{"type":"ping","id":"k1"}"#) == .ping(id: "k1"))
    }

    @Test func unknownTopLevelFieldsAreIgnored() throws {
        #expect(try decode(#"{"type":"ping","id":"k1","extra":[1,2,{"x":null}]}"#) == .ping(id: "k1"))
    }

    @Test func idOfSixtyFourCharactersIsAccepted() throws {
        let id = String(repeating: "x", count: 64)
        #expect(try decode(#"{"type":"ping","id":"\#(id)"}"#) == .ping(id: id))
    }

    @Test func idLengthCountsCodePointsNotBytes() throws {
        // PROTOCOL.md §2: string lengths are Unicode code points.
        let id = String(repeating: "é", count: 64)
        #expect(try decode(#"{"type":"ping","id":"\#(id)"}"#) == .ping(id: id))
    }

    // MARK: - Frames without a usable id: bad_request, no re

    @Test(arguments: [
        "{nope",
        "",
        #"{"type":"ping","id":"k1""#,
    ])
    func malformedJSON(_ text: String) throws {
        let error = try #require(decodeError(text))
        #expect(error.code == .badRequest)
        #expect(error.id == nil)
    }

    @Test(arguments: ["[1,2,3]", "42", #""ping""#, "null", "true"])
    func nonObject(_ text: String) throws {
        let error = try #require(decodeError(text))
        #expect(error.code == .badRequest)
        #expect(error.id == nil)
    }

    @Test(arguments: [
        #"{"type":"ping"}"#,
        #"{"type":"ping","id":null}"#,
        #"{"type":"ping","id":""}"#,
        #"{"type":"ping","id":17}"#,
        #"{"type":"ping","id":["k1"]}"#,
    ])
    func missingOrIllTypedID(_ text: String) throws {
        let error = try #require(decodeError(text))
        #expect(error.code == .badRequest)
        #expect(error.id == nil)
    }

    @Test func idTooLong() throws {
        let id = String(repeating: "x", count: 65)
        let error = try #require(decodeError(#"{"type":"ping","id":"\#(id)"}"#))
        #expect(error.code == .badRequest)
        #expect(error.id == nil)
    }

    @Test func nestedDeeperThanMaxDepth() throws {
        let depth = ClientCommand.maxDepth  // the outer object is level 1
        let within = #"{"type":"ping","id":"k1","x":"# + String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1) + "}"
        #expect(try decode(within) == .ping(id: "k1"))

        let deeper = #"{"type":"ping","id":"k1","x":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        let error = try #require(decodeError(deeper))
        #expect(error.code == .badRequest)
        #expect(error.id == nil)
    }

    @Test func hugeNestingIsRefusedWithoutRecursing() throws {
        let text = String(repeating: "[", count: 100_000)
        let error = try #require(decodeError(text))
        #expect(error.code == .badRequest)
    }

    // MARK: - Frames with a usable id: the error carries it

    @Test(arguments: [#"{"id":"x1"}"#, #"{"id":"x1","type":null}"#, #"{"id":"x1","type":7}"#])
    func missingOrIllTypedType(_ text: String) throws {
        let error = try #require(decodeError(text))
        #expect(error.code == .badRequest)
        #expect(error.id == "x1")
    }

    @Test func unknownType() throws {
        let error = try #require(decodeError(#"{"type":"dance","id":"d1"}"#))
        #expect(error.code == .unknownCommand)
        #expect(error.id == "d1")
    }

    @Test func unknownTypeIsReportedBeforeIllTypedFields() throws {
        // PROTOCOL.md §9: unknown_command (3) comes before a bad field (5).
        let error = try #require(decodeError(#"{"type":"dance","id":"d1","stream":42}"#))
        #expect(error.code == .unknownCommand)
        #expect(error.id == "d1")
    }

    @Test(arguments: ["subscribe", "unsubscribe", "publish"])
    func missingStream(_ type: String) throws {
        let error = try #require(decodeError(#"{"type":"\#(type)","id":"s1"}"#))
        #expect(error.code == .badRequest)
        #expect(error.id == "s1")
    }

    @Test(arguments: ["subscribe", "unsubscribe", "publish"])
    func illTypedStream(_ type: String) throws {
        // Vector 11: {"type":"subscribe","id":"s2","stream":42} → bad_request with re.
        let error = try #require(decodeError(#"{"type":"\#(type)","id":"s2","stream":42}"#))
        #expect(error.code == .badRequest)
        #expect(error.id == "s2")
    }

    @Test(arguments: [
        "subscribe|-bad", "subscribe|has space", "subscribe|", "unsubscribe|shop/42", "publish|_x",
        "subscribe|" + String(repeating: "a", count: 65),
    ])
    func invalidStreamID(_ spec: String) throws {
        let parts = spec.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
        let text = #"{"type":"\#(parts[0])","id":"s1","stream":"\#(parts[1])","event":{"kind":"stream.ended","data":{}}}"#
        let error = try #require(decodeError(text))
        #expect(error.code == .invalidStream)
        #expect(error.id == "s1")
    }

    @Test func illTypedToken() throws {
        let error = try #require(decodeError(#"{"type":"connect","id":"c1","token":42}"#))
        #expect(error.code == .badRequest)
        #expect(error.id == "c1")
    }

    @Test(arguments: [
        #"{"epoch":"0000000000000000","seq":-1}"#,
        #"{"epoch":"0000000000000000","seq":1.5}"#,
        #"{"epoch":"0000000000000000","seq":1.0}"#,
        #"{"epoch":"0000000000000000","seq":9007199254740992}"#,
        #"{"epoch":"0000000000000000","seq":"3"}"#,
        #"{"epoch":"0000000000000000"}"#,
        #"{"seq":3}"#,
        #"{"epoch":7,"seq":3}"#,
        #""3f9a1c07d2b84e65:5""#,
    ])
    func badSince(_ since: String) throws {
        let error = try #require(decodeError(#"{"type":"subscribe","id":"s3","stream":"shop-42","since":\#(since)}"#))
        #expect(error.code == .badRequest)
        #expect(error.id == "s3")
    }

    // MARK: - Numbers in a checkout

    private func checkout(qty: String, price: String) -> String {
        #"{"type":"checkout","id":"k","stream":"s","items":[{"product":"p","qty":\#(qty),"price_seen":\#(price)}],"region":"DE","idempotency_key":"key-1"}"#
    }

    /// A number out of range, or not written as an integer, is an invalid checkout; a
    /// quantity or price that is not a number at all is a malformed command.
    @Test(arguments: [
        ("1.0", "100"), ("1e0", "100"), ("0", "100"), ("1001", "100"), ("-1", "100"), ("9223372036854775807", "100"),
        ("1", "9007199254740992"), ("1", "-1"), ("1", "99.5"), ("1", "1e20"),
    ])
    func checkoutNumbersOutOfRangeAreInvalidCheckouts(_ qty: String, _ price: String) throws {
        let error = try #require(decodeError(checkout(qty: qty, price: price)))
        #expect(error.code == .invalidCheckout, "qty \(qty), price_seen \(price)")
        #expect(error.message.contains("must be an integer in"))
    }

    @Test(arguments: [("\"1\"", "100"), ("1", "null"), ("true", "100")])
    func checkoutNumbersOfTheWrongTypeAreBadRequests(_ qty: String, _ price: String) throws {
        #expect(decodeError(checkout(qty: qty, price: price))?.code == .badRequest)
    }

    @Test func checkoutAtTheLimitsDecodes() throws {
        guard case .checkout(_, _, let request) = try decode(checkout(qty: "1000", price: "9007199254740991")) else {
            Issue.record("expected a checkout")
            return
        }
        #expect(request.lines.first?.quantity == 1_000)
        #expect(request.lines.first?.priceSeen == JSONValue.maxSafeInteger)
    }
}
