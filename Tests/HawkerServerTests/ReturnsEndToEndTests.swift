import Foundation
import HawkerAuth
import HawkerProtocol
import HawkerServer
import NIOCore
import Testing

/// Orders that go full circle, over real sockets: a merchant's order service reports a
/// return of one unit; the unit goes back into stock, the influencer's commission on it is
/// taken back, the buyer hears it and sees it in their history, and a retry of the same
/// return changes nothing.
@Suite struct ReturnsEndToEndTests {
    private static func available(_ server: TestGateway, token: String) async throws -> Int? {
        let read = try await HTTP.request("GET", port: server.port, path: "/v1/merchants/m1/inventory/tee", headers: ["Authorization": "Bearer \(token)"])
        return (read.json?["items"] as? [[String: Any]])?.first?["available"] as? Int
    }

    @Test func aReturnRestoresStockAndReducesTheInfluencersCommission() async throws {
        let server = try await TestGateway.start()
        let admin = try await server.token(.admin, streams: [], sub: "ops")
        let registered = try await HTTP.request(
            "PUT", port: server.port, path: "/v1/affiliate-codes/anna10", headers: ["Authorization": "Bearer \(admin)", "Content-Type": "application/json"],
            body: #"{"owner":"anna","commission_bps":1000}"#)
        #expect(registered.status == 201)
        let host = try await server.client(.host, streams: ["shop"], sub: "host")
        for (kind, data) in [
            ("catalog.set", ["products": [["id": "tee", "title": "Tee", "merchant": "m1", "price": 1_000, "currency": "EUR", "stock": 5]]]),
            ("product.pinned", ["product": "tee"]),
        ] as [(String, JSONValue)] {
            let reply = try await host.request(["type": "publish", "id": "p", "stream": "shop", "event": ["kind": .string(kind), "data": data]])
            try #require(reply["type"] == "published", "\(reply)")
        }

        // Two tees through Anna's code; the demo backend confirms.
        let buyer = try await server.client(.viewer, streams: ["shop"], sub: "ana")
        // (The confirmation may overtake the reply's reading.)
        let (accepted, _) = try await buyer.request(
            [
                "type": "checkout", "id": "k", "stream": "shop", "region": "DE", "idempotency_key": "k1", "items": [["product": "tee", "qty": 2, "price_seen": 1_000]],
                "attribution": ["code": "ANNA10"],
            ], alsoAwaiting: "order.confirmed")
        try #require(accepted["type"] == "checkout.accepted", "\(accepted)")
        let checkoutID = try #require(accepted["checkout_id"]?.stringValue)
        #expect(try await Self.available(server, token: admin) == 3)

        // The merchant's order service: one tee came back, into stock.
        let service = try await server.client(.orderService, streams: [], sub: "m1-svc", merchant: "m1")
        let returned: [String: JSONValue] = [
            "type": "order.update", "id": "u1", "checkout_id": .string(checkoutID), "status": "returned", "return_id": "RMA-1",
            "items": [["product": "tee", "qty": 1]], "restock": true,
        ]
        #expect(try await service.request(returned)["type"] == "order.updated")
        #expect(try await Self.available(server, token: admin) == 4)
        let notice = try await buyer.next("order.status")
        #expect(notice["status"] == "returned")
        #expect(notice["items"] == [["product": "tee", "qty": 1]])
        #expect(notice["restocked"] == true)

        // Anna earns on the tee kept only.
        let anna = try await server.token(.affiliate, streams: [], sub: "anna")
        let earnings = try await HTTP.request("GET", port: server.port, path: "/v1/affiliates/anna/earnings", headers: ["Authorization": "Bearer \(anna)"])
        let totals = try #require((earnings.json?["totals"] as? [[String: Any]])?.first)
        #expect(totals["commission"] as? Int == 100 && totals["revenue"] as? Int == 1_000 && totals["units"] as? Int == 1)
        #expect(totals["returned_commission"] as? Int == 100 && totals["returned_revenue"] as? Int == 1_000 && totals["returned_units"] as? Int == 1)

        // The same return again changes nothing; more than is left, or another merchant, is refused.
        #expect(try await service.request(returned)["type"] == "order.updated")
        #expect(try await Self.available(server, token: admin) == 4)
        var tooMany = returned
        tooMany["return_id"] = "RMA-2"
        tooMany["items"] = [["product": "tee", "qty": 2]]
        #expect(try await service.request(tooMany)["code"] == "bad_request")
        let other = try await server.client(.orderService, streams: [], sub: "m2-svc", merchant: "m2")
        #expect(try await other.request(returned)["code"] == "unknown_checkout")

        // The host's money nets the return out, once.
        let hostToken = try await server.token(.host, streams: ["shop"], sub: "host")
        let insights = try await HTTP.request("GET", port: server.port, path: "/v1/streams/shop/insights", headers: ["Authorization": "Bearer \(hostToken)"])
        let money = try #require((insights.json?["money"] as? [[String: Any]])?.first, "\(insights.body)")
        #expect(money["confirmed_revenue"] as? Int == 2_000)
        #expect(money["returned_units"] as? Int == 1 && money["returned_revenue"] as? Int == 1_000, "\(money)")
        let merchants = try #require(insights.json?["merchants"] as? [[String: Any]])
        #expect(merchants.first?["returned_revenue"] as? Int == 1_000)

        // The buyer's history says so.
        let history = try await buyer.request(["type": "order.history", "id": "h"])
        let part = try #require(history["orders"]?.arrayValue?.first?["parts"]?.arrayValue?.first)
        #expect(part["fulfilment"]?["status"] == "returned")
        #expect(part["fulfilment"]?["items"] == [["product": "tee", "qty": 1]])

        for client in [host, buyer, service, other] { await client.close() }
        await server.stop()
    }
}
