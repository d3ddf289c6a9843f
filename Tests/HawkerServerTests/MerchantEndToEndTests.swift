import Foundation
import HawkerAuth
import HawkerProtocol
import HawkerServer
import NIOCore
import Testing

/// Merchants registered at run time, over real sockets: an admin registers a tea house
/// with a webhook and its zones, shipping and tax; viewers see what ships to them and what
/// a cart costs delivered, and pay exactly that; the tea house's order reaches the webhook
/// registered a moment before, with its charges, without a restart.
@Suite struct MerchantEndToEndTests {
    private static func request(_ server: TestGateway, _ method: String, _ path: String, token: String?, body: String? = nil) async throws -> HTTP.Response {
        var headers = ["Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return try await HTTP.request(method, port: server.port, path: path, headers: headers, body: body)
    }

    /// The tea house's terms: prices include 19 % VAT in Germany, 4.90 shipping (free from 50.00).
    private static let terms =
        #""terms":{"currency":"EUR","prices_include_tax":true,"zones":[{"name":"Germany","regions":["DE"],"shipping":490,"free_shipping_from":5000,"tax_bps":1900}]}"#

    private static func checkout(_ key: String, _ items: [(String, Int64, Int64)], shipTo: JSONValue, seen: JSONValue? = nil) -> [String: JSONValue] {
        var command: [String: JSONValue] = [
            "type": "checkout", "id": .string(key), "stream": "tea", "idempotency_key": .string(key), "ship_to": shipTo,
            "items": .array(items.map { ["product": .string($0.0), "qty": .int($0.1), "price_seen": .int($0.2)] }),
        ]
        if let seen { command["totals_seen"] = seen }
        return command
    }

    @Test func aMerchantRegisteredAtRunTimeIsPricedRoutedAndPaidExactlyWhatTheBuyerSaw() async throws {
        let webhook = WebhookReceiver()
        try await webhook.start()
        let server = try await TestGateway.start()
        let admin = try await server.token(.admin, streams: [], sub: "ops")

        // 1. Registered at run time: the backend's secret is never shown back.
        let body =
            #"{"name":"Tea house","backend":{"kind":"webhook","url":"\#(webhook.url)","secret":"\#(webhook.secret)"},"#
            + Self.terms + "}"
        let registered = try await Self.request(server, "PUT", "/v1/merchants/teahouse", token: admin, body: body)
        #expect(registered.status == 201, "\(registered.body)")
        #expect(!registered.body.contains(webhook.secret))
        #expect((registered.json?["backend"] as? [String: Any])?["secret_set"] as? Bool == true)
        #expect(try await Self.request(server, "PUT", "/v1/merchants/teahouse", token: admin, body: body).status == 200)

        // 2. The host shows tea and a poster that ships to France only.
        let host = try await server.client(.host, streams: ["tea"], sub: "host")
        let products: JSONValue = [
            ["id": "sencha", "title": "Sencha", "merchant": "teahouse", "price": 1_499, "currency": "EUR", "stock": 10],
            ["id": "poster", "title": "Poster", "merchant": "paris", "price": 900, "currency": "EUR", "regions": ["FR"]],
        ]
        for (kind, data) in [("catalog.set", ["products": products]), ("product.pinned", ["product": "sencha"]), ("product.pinned", ["product": "poster"])]
            as [(String, JSONValue)]
        {
            let reply = try await host.request(["type": "publish", "id": "p", "stream": "tea", "event": ["kind": .string(kind), "data": data]])
            try #require(reply["type"] == "published", "\(reply)")
        }

        // 3. A viewer in Berlin asks what ships there, then what two sencha cost delivered.
        let ana = try await server.client(.viewer, streams: ["tea"], sub: "ana")
        let berlin: JSONValue = ["country": "DE", "postcode": "10115"]
        let ships = try await ana.request(["type": "quote", "id": "q1", "stream": "tea", "ship_to": berlin])
        #expect(ships["type"] == "quote")
        #expect(ships["not_shipping"] == ["poster"])
        let quote = try await ana.request(["type": "quote", "id": "q2", "stream": "tea", "ship_to": berlin, "items": [["product": "sencha", "qty": 2]]])
        #expect(
            quote["charges"] == [
                ["merchant": "teahouse", "currency": "EUR", "subtotal": 2_998, "shipping": 490, "tax": 557, "tax_included": true, "total": 3_488, "zone": "Germany"]
            ])
        #expect(quote["totals"] == [["currency": "EUR", "amount": 3_488]])
        let poster = try await ana.request(["type": "quote", "id": "q3", "stream": "tea", "ship_to": berlin, "items": [["product": "poster", "qty": 1]]])
        #expect(poster["code"] == "region_not_served")
        #expect(poster["product"] == "poster")

        // 4. A client that shows only the lines' sum is refused with the figures to show;
        // one outside the region is refused before anything is held.
        let legacy = try await ana.request(Self.checkout("k1", [("sencha", 2, 1_499)], shipTo: berlin))
        #expect(legacy["code"] == "total_changed")
        #expect(legacy["totals"] == [["currency": "EUR", "amount": 3_488]])
        #expect(legacy["charges"] == quote["charges"])
        let paris = try await ana.request(Self.checkout("k2", [("sencha", 1, 1_499)], shipTo: ["country": "FR"], seen: [["currency": "EUR", "amount": 1_499]]))
        #expect(paris["code"] == "region_not_served")
        #expect(paris["product"] == "sencha")

        // 5. The quoted total is what is charged, and what the tea house's order says.
        let accepted = try await ana.request(Self.checkout("k3", [("sencha", 2, 1_499)], shipTo: berlin, seen: quote["totals"]))
        #expect(accepted["type"] == "checkout.accepted", "\(accepted)")
        #expect(accepted["totals"] == [["currency": "EUR", "amount": 3_488]])
        #expect(accepted["charges"] == quote["charges"])
        #expect(accepted["ship_to"] == ["country": "DE", "postcode": "10115"])
        let checkoutID = try #require(accepted["checkout_id"]?.stringValue)
        try await webhook.waitForOrders(atLeast: 1)
        let order = try #require(webhook.orders["\(checkoutID):teahouse"], "the webhook registered at run time got no order")
        #expect(order.body["charges"] == quote["charges"])
        #expect(order.body["ship_to"] == ["country": "DE", "postcode": "10115"])
        #expect(order.body["region"] == "DE")

        // 6. Removed: the tea house has no terms any more (and its orders go to the default).
        #expect(try await Self.request(server, "DELETE", "/v1/merchants/teahouse", token: admin).status == 200)
        #expect(try await Self.request(server, "DELETE", "/v1/merchants/teahouse", token: admin).status == 404)
        let plain = try await ana.request(["type": "quote", "id": "q4", "stream": "tea", "ship_to": ["country": "FR"], "items": [["product": "sencha", "qty": 2]]])
        #expect(plain["totals"] == [["currency": "EUR", "amount": 2_998]])

        for client in [host, ana] { await client.close() }
        await server.stop()
        await webhook.stop()
    }

    @Test func onlyAdminsRegisterAndBadBodiesAreRefusedFieldByField() async throws {
        let server = try await TestGateway.start()
        let admin = try await server.token(.admin, streams: [], sub: "ops")
        let viewer = try await server.token(.viewer, streams: ["tea"], sub: "ana")
        let teaService = try await server.token(.orderService, streams: [], sub: "tea-svc", merchant: "teahouse")
        let otherService = try await server.token(.orderService, streams: [], sub: "x-svc", merchant: "other")

        #expect(try await Self.request(server, "PUT", "/v1/merchants/teahouse", token: viewer, body: "{}").status == 403)
        #expect(try await Self.request(server, "PUT", "/v1/merchants/teahouse", token: teaService, body: "{}").status == 403)
        #expect(try await Self.request(server, "PUT", "/v1/merchants/teahouse", token: nil, body: "{}").status == 401)
        for (body, field) in [
            (#"{"colour":"red"}"#, "colour"),
            (#"{"backend":{"kind":"carrier-pigeon"}}"#, "backend.kind"),
            (#"{"backend":{"kind":"webhook","url":"ftp://x","secret":"0123456789abcdef"}}"#, "url"),
            (#"{"backend":{"kind":"webhook","url":"http://x","secret":"short"}}"#, "secret"),
            (#"{"backend":{"kind":"postgres","postgres_url":"mysql://x"}}"#, "postgres"),
            (#"{"terms":{"currency":"EUR","prices_include_tax":true,"zones":[{"name":"EU","regions":["EU"],"shipping":0,"tax_bps":0}]}}"#, "regions"),
            (#"{"terms":{"currency":"EUR","prices_include_tax":true,"zones":[{"name":"DE","regions":["DE"],"shipping":9007199254740992,"tax_bps":0}]}}"#, "shipping"),
            (#"{"stock":"sometimes"}"#, "stock"),
            ("[1,2]", "JSON object"),
        ] {
            let refused = try await Self.request(server, "PUT", "/v1/merchants/teahouse", token: admin, body: body)
            #expect(refused.status == 400, "\(body): \(refused.status)")
            #expect(refused.body.contains(field), "\(body): \(refused.body)")
        }
        #expect(try await Self.request(server, "PUT", "/v1/merchants/not%20an%20id", token: admin, body: "{}").status == 400)
        // Nothing was stored by the refusals.
        #expect(try await Self.request(server, "GET", "/v1/merchants/teahouse", token: admin).status == 404)

        #expect(try await Self.request(server, "PUT", "/v1/merchants/teahouse", token: admin, body: "{" + Self.terms + "}").status == 201)
        // The merchant's own order service reads its profile; another merchant's does not.
        let own = try await Self.request(server, "GET", "/v1/merchants/teahouse", token: teaService)
        #expect(own.status == 200)
        #expect(own.json?["registered"] as? Bool == true)
        #expect(try await Self.request(server, "GET", "/v1/merchants/teahouse", token: otherService).status == 403)
        let list = try await Self.request(server, "GET", "/v1/merchants", token: admin)
        #expect((list.json?["merchants"] as? [[String: Any]])?.map { $0["id"] as? String } == ["teahouse"])
        #expect(try await Self.request(server, "GET", "/v1/merchants", token: teaService).status == 403)
        #expect(try await Self.request(server, "POST", "/v1/merchants/teahouse", token: admin, body: "{}").status == 405)
        await server.stop()
    }
}
