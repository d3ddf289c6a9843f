import Foundation
import HawkerAuth
import HawkerProtocol
import HawkerServer
import NIOCore
import Testing

/// Sellers and suppliers over real sockets: a tea house sells its own tea and a kettle
/// that a kettle maker ships for it (dropship), as the tea house registered it. The tea
/// house's webhook gets the sale, the kettle maker's order service the shipment, once the
/// sale is confirmed; viewers never see who ships or at what price; the buyer's tracking
/// comes from the supplier as the tea house's.
@Suite struct DropshipEndToEndTests {
    private static func request(_ server: TestGateway, _ method: String, _ path: String, token: String?, body: String? = nil) async throws -> HTTP.Response {
        var headers = ["Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return try await HTTP.request(method, port: server.port, path: path, headers: headers, body: body)
    }

    @Test func aDropshipCartReachesTheSellerAndThenItsSupplierEachWithItsPart() async throws {
        let webhook = WebhookReceiver()
        try await webhook.start()
        let server = try await TestGateway.start()
        let admin = try await server.token(.admin, streams: [], sub: "ops")

        // 1. Two merchants registered at run time: the seller's orders go to its webhook,
        // the supplier's to its order services over WebSocket. The seller says who ships
        // its kettles and at what price; bad suppliers are refused field by field.
        let backend = #""backend":{"kind":"webhook","url":"\#(webhook.url)","secret":"\#(webhook.secret)"}"#
        for (suppliers, field) in [
            (#"{"kettle":{"merchant":"teahouse","price":100}}"#, "supply itself"),
            (#"{"kettle":{"merchant":"kettleworks"}}"#, "suppliers.kettle"),
            (#"{"kettle":{"merchant":"kettleworks","price":9007199254740991}}"#, "suppliers.kettle"),
            (#"{"kettle":{"merchant":"kettleworks","price":100,"margin":5}}"#, "suppliers.kettle"),
            (#"{"not an id":{"merchant":"kettleworks","price":100}}"#, "product ids"),
            (#"["kettle"]"#, "'suppliers'"),
        ] {
            let refused = try await Self.request(server, "PUT", "/v1/merchants/teahouse", token: admin, body: "{\(backend),\"suppliers\":\(suppliers)}")
            #expect(refused.status == 400 && refused.body.contains(field), "\(suppliers): \(refused.body)")
        }
        let seller =
            #"{"name":"Tea house","#
            + backend + #","suppliers":{"kettle":{"merchant":"kettleworks","price":2700}}}"#
        let registered = try await Self.request(server, "PUT", "/v1/merchants/teahouse", token: admin, body: seller)
        #expect(registered.status == 201, "\(registered.body)")
        #expect(registered.body.contains("kettleworks"), "the seller's profile shows its suppliers to admins and itself")
        #expect(try await Self.request(server, "PUT", "/v1/merchants/kettleworks", token: admin, body: #"{"backend":{"kind":"order_service"}}"#).status == 201)
        let kettles = try await server.client(.orderService, streams: [], sub: "kettle-svc", merchant: "kettleworks")
        #expect(try await kettles.request(["type": "orders.subscribe", "id": "o"])["type"] == "orders.subscribed")

        // 2. The host's catalog is what viewers see: sellers and prices, no suppliers (a
        // host cannot name one).
        let ana = try await server.client(.viewer, streams: ["tea"], sub: "ana")
        let host = try await server.client(.host, streams: ["tea"], sub: "host")
        let products: JSONValue = [
            ["id": "sencha", "title": "Sencha", "merchant": "teahouse", "price": 1_500, "currency": "EUR"],
            ["id": "kettle", "title": "Kettle", "merchant": "teahouse", "price": 4_500, "currency": "EUR"],
            // The kettle maker sells on its own account too.
            ["id": "descaler", "title": "Descaler", "merchant": "kettleworks", "price": 900, "currency": "EUR"],
        ]
        let hostsSupplier: JSONValue = [
            ["id": "cup", "title": "Cup", "merchant": "teahouse", "price": 900, "currency": "EUR", "supplier": ["merchant": "kettleworks", "price": 100]]
        ]
        #expect(
            try await host.request(["type": "publish", "id": "bad", "stream": "tea", "event": ["kind": "catalog.set", "data": ["products": hostsSupplier]]])[
                "code"] == "invalid_event")
        for (kind, data) in [
            ("catalog.set", ["products": products]), ("product.pinned", ["product": "sencha"]), ("product.pinned", ["product": "kettle"]),
            ("product.pinned", ["product": "descaler"]),
        ] as [(String, JSONValue)] {
            let reply = try await host.request(["type": "publish", "id": "p", "stream": "tea", "event": ["kind": .string(kind), "data": data]])
            try #require(reply["type"] == "published", "\(reply)")
        }
        let subscribed = try await ana.request(["type": "subscribe", "id": "s", "stream": "tea"])
        #expect(subscribed["type"] == "subscribed", "\(subscribed)")
        #expect("\(subscribed)".contains("Kettle"), "the catalog is in the state: \(subscribed)")
        #expect(!"\(subscribed)".contains("supplier") && !"\(subscribed)".contains("2700"), "the supplier is the seller's business: \(subscribed)")
        let snapshot = try await Self.request(server, "GET", "/v1/streams/tea", token: try await server.token(.viewer, streams: ["tea"], sub: "bo"))
        #expect(snapshot.status == 200)
        #expect(snapshot.body.contains("Kettle"))
        #expect(!snapshot.body.contains("2700") && !snapshot.body.contains("supplier"), "\(snapshot.body)")

        // 3. Ana buys tea, a kettle and a descaler: one checkout.
        let accepted = try await ana.request([
            "type": "checkout", "id": "k1", "stream": "tea", "region": "DE", "idempotency_key": "k1",
            "items": [
                ["product": "sencha", "qty": 1, "price_seen": 1_500], ["product": "kettle", "qty": 1, "price_seen": 4_500],
                ["product": "descaler", "qty": 1, "price_seen": 900],
            ],
        ])
        try #require(accepted["type"] == "checkout.accepted", "\(accepted)")
        #expect(accepted["totals"] == [["currency": "EUR", "amount": 6_900]])
        #expect(!"\(accepted)".contains("supplier") && !"\(accepted)".contains("2700"), "\(accepted)")
        let checkoutID = try #require(accepted["checkout_id"]?.stringValue)

        // 4. The seller's sale: both lines at retail, the kettle's supplier named.
        try await webhook.waitForOrders(atLeast: 1)
        let sale = try #require(webhook.orders["\(checkoutID):teahouse"], "the seller got no order")
        #expect(sale.body["kind"] == "sale")
        let items = try #require(sale.body["items"]?.arrayValue)
        #expect(items.map { $0["product"] } == ["sencha", "kettle"])
        #expect(items[1]["unit_price"] == 4_500)
        #expect(items[1]["supplier"] == ["merchant": "kettleworks", "price": 2_700], "the price the seller registered")

        // 5. The kettle maker gets its own sale, and once the tea house's sale is confirmed
        // its shipment: the kettle at its price, under its own key, with nothing of the
        // buyer's payment.
        var requests: [[String: JSONValue]] = []
        for _ in 0..<2 { requests.append(try await kettles.next("order.requested")) }
        let ownSale = try #require(requests.first { $0["kind"] == "sale" }, "\(requests)")
        #expect(ownSale["items"]?.arrayValue?.map { $0["product"] } == ["descaler"])
        #expect(try await kettles.request(["type": "ack", "id": "own", "delivery": ownSale["delivery"]!, "result": "confirmed", "reference": "KW-S"])["type"] == "acked")
        let requested = try #require(requests.first { $0["kind"] == "shipment" }, "\(requests)")
        let shipment = requested
        #expect(shipment["kind"] == "shipment")
        #expect(shipment["idempotency_key"] == .string("\(checkoutID):kettleworks/for/teahouse"))
        #expect(shipment["seller"] == "teahouse")
        #expect(shipment["merchant"] == "kettleworks")
        #expect(shipment["items"] == [["product": "kettle", "qty": 1, "unit_cost": 2_700, "currency": "EUR"]])
        #expect(shipment["cost"] == [["currency": "EUR", "amount": 2_700]])
        #expect(shipment["charges"] == nil && shipment["attribution"] == nil)
        let acked = try await kettles.request(["type": "ack", "id": "a", "delivery": requested["delivery"]!, "result": "confirmed", "reference": "KW-1"])
        #expect(acked["type"] == "acked", "\(acked)")
        #expect(webhook.orders.count == 1, "the seller's webhook got only its sale")

        // 6. The supplier ships it: it names whose part it means (it has two here); the buyer
        // hears it from the tea house, and sees it in the history of the tea house's part.
        // The sale's outcome and a return are the seller's, not the supplier's.
        let unnamed = try await kettles.request([
            "type": "order.update", "id": "u0", "checkout_id": .string(checkoutID), "status": "shipped", "tracking": "DHL 00340434",
        ])
        #expect(unnamed["code"] == "bad_request" && unnamed["message"]?.stringValue?.contains("seller") == true, "\(unnamed)")
        let refunded = try await kettles.request([
            "type": "order.update", "id": "u1", "checkout_id": .string(checkoutID), "status": "refunded", "seller": "teahouse",
        ])
        #expect(refunded["code"] == "bad_request", "\(refunded)")
        let update = try await kettles.request([
            "type": "order.update", "id": "u", "checkout_id": .string(checkoutID), "status": "shipped", "tracking": "DHL 00340434", "seller": "teahouse",
        ])
        #expect(update["type"] == "order.updated", "\(update)")
        let status = try await ana.next("order.status")
        #expect(status["merchant"] == "teahouse")
        #expect(status["tracking"] == "DHL 00340434")
        let history = try await ana.request(["type": "order.history", "id": "h"])
        let parts = try #require(history["orders"]?.arrayValue?.first?["parts"]?.arrayValue)
        #expect(parts.map { $0["merchant"] } == ["kettleworks", "teahouse"])
        #expect(parts.last?["fulfilment"]?["tracking"] == "DHL 00340434")
        #expect(parts.first?["fulfilment"] == nil, "the kettle maker's own sale has not shipped")
        let returned = try await kettles.request([
            "type": "order.update", "id": "r", "checkout_id": .string(checkoutID), "status": "returned", "return_id": "r1", "seller": "teahouse",
        ])
        #expect(returned["code"] == "bad_request", "\(returned)")
        #expect(returned["message"]?.stringValue?.contains("seller") == true)

        for client in [host, ana, kettles] { await client.close() }
        await server.stop()
        await webhook.stop()
    }
}
