import Foundation
import HawkerAuth
import HawkerProtocol
import HawkerServer
import Testing

/// Merchants set and read their own stock, over HTTP from a back office and over their
/// order service's connection; a level they set reaches the viewers of every stream that
/// shows the product, and units already accepted are never offered again.
@Suite struct InventoryEndToEndTests {
    private func bearer(_ server: TestGateway, _ role: Role, merchant: String? = nil) async throws -> [String: String] {
        ["Authorization": "Bearer \(try await server.token(role, streams: role == .host ? ["shop"] : [], sub: "who", merchant: merchant))"]
    }

    @Test func aBackOfficeSetsLevelsThatEveryStreamShows() async throws {
        let server = try await TestGateway.start()
        try await server.catalog("shop", ["p1"], stock: 5)
        try await server.catalog("outlet", ["p1"], stock: 99)
        let viewer = try await server.client(.viewer, streams: ["outlet"], sub: "vi")
        let subscribed = try await viewer.request(["type": "subscribe", "id": "s", "stream": "outlet"])
        #expect(subscribed["type"] == "subscribed")
        let headers = try await bearer(server, .orderService, merchant: "m1")
        // The catalog of the second stream did not change the level the first set up.
        let before = try await HTTP.request("GET", port: server.port, path: "/v1/merchants/m1/inventory/p1", headers: headers)
        #expect((before.json?["items"] as? [[String: Any]])?.first?["available"] as? Int == 5)

        let update = #"{"items":[{"product":"p1","on_hand":12},{"product":"p2","variant":"s","adjust":3}]}"#
        let set = try await HTTP.request("POST", port: server.port, path: "/v1/merchants/m1/inventory", headers: headers, body: update)
        #expect(set.status == 200)
        let items = try #require(set.json?["items"] as? [[String: Any]])
        #expect(items.count == 2)
        #expect(items[0]["product"] as? String == "p1" && items[0]["on_hand"] as? Int == 12 && items[0]["available"] as? Int == 12)
        #expect(items[1]["variant"] as? String == "s" && items[1]["on_hand"] as? Int == 3)

        // The viewer of the other stream hears the new level.
        let event = try await viewer.next("event")
        #expect(event["kind"] == "stock.changed")
        #expect(event["data"]?.objectValue?["level"] == 12)

        let read = try await HTTP.request("GET", port: server.port, path: "/v1/merchants/m1/inventory/p2", headers: headers)
        #expect(read.status == 200)
        #expect((read.json?["items"] as? [[String: Any]])?.first?["variant"] as? String == "s")
        let page = try await HTTP.request("GET", port: server.port, path: "/v1/merchants/m1/inventory?limit=1", headers: headers)
        #expect((page.json?["items"] as? [[String: Any]])?.count == 1)
        #expect(page.json?["next_after"] as? String == "p1")
        let rest = try await HTTP.request("GET", port: server.port, path: "/v1/merchants/m1/inventory?after=p1", headers: headers)
        #expect((rest.json?["items"] as? [[String: Any]])?.first?["product"] as? String == "p2" && rest.json?["next_after"] == nil)
        await viewer.close()
        await server.stop()
    }

    @Test func onlyTheMerchantsOwnServiceOrAnAdminTouchesItsStock() async throws {
        let server = try await TestGateway.start()
        let path = "/v1/merchants/m1/inventory"
        let body = #"{"items":[{"product":"p1","available":1}]}"#
        #expect(try await HTTP.request("POST", port: server.port, path: path, body: body).status == 401)
        for (role, merchant) in [(Role.orderService, "m2"), (.host, nil), (.viewer, nil)] {
            let headers = try await bearer(server, role, merchant: merchant)
            #expect(try await HTTP.request("POST", port: server.port, path: path, headers: headers, body: body).status == 403)
            #expect(try await HTTP.request("GET", port: server.port, path: path, headers: headers).status == 403)
        }
        let admin = try await bearer(server, .admin)
        #expect(try await HTTP.request("POST", port: server.port, path: path, headers: admin, body: body).status == 200)
        #expect(try await HTTP.request("DELETE", port: server.port, path: path, headers: admin).status == 405)
        // Bad bodies are refused whole, with what is wrong.
        for bad in [
            #"{"items":[]}"#, #"{"items":[{"product":"p1"}]}"#, #"{"items":[{"product":"p1","on_hand":-1}]}"#,
            #"{"items":[{"product":"p1","on_hand":1,"adjust":1}]}"#, #"{"items":[{"product":"p1","adjust":9007199254740992}]}"#,
            #"{"items":[{"product":"p1","on_hand":1},{"product":"p1","adjust":1}]}"#, "not json",
        ] {
            let refused = try await HTTP.request("POST", port: server.port, path: path, headers: admin, body: bad)
            #expect(refused.status == 400, "\(bad)")
            #expect(refused.errorCode == "bad_request")
        }
        let level = try await HTTP.request("GET", port: server.port, path: "\(path)/p1", headers: admin)
        #expect((level.json?["items"] as? [[String: Any]])?.first?["available"] as? Int == 1, "nothing of a refused body was applied")
        await server.stop()
    }

    @Test func aMerchantLevelBelowWhatIsAcceptedNeverSellsAUnitTwice() async throws {
        let server = try await TestGateway.start { $0.orders.demoDelayMilliseconds = 60_000 }
        try await server.catalog("shop", ["p1"], stock: 3)
        _ = try await server.publish("shop", "product.pinned", ["product": "p1"])
        let buyer = try await server.client(.viewer, streams: ["shop"], sub: "ana")
        let accepted = try await buyer.request([
            "type": "checkout", "id": "c1", "stream": "shop", "region": "DE", "idempotency_key": "k1",
            "items": [["product": "p1", "qty": 2, "price_seen": 1_000]],
        ])
        #expect(accepted["type"] == "checkout.accepted")
        // The order service's connection says it holds 2 (its count includes the 2 not yet
        // confirmed): none are left to sell.
        let service = try await server.client(.orderService, streams: [], sub: "svc", merchant: "m1")
        let reply = try await service.request(["type": "inventory.set", "id": "i", "items": [["product": "p1", "on_hand": 2]]])
        #expect(reply["type"] == "inventory")
        let level = try #require(reply["items"]?.arrayValue?.first?.objectValue)
        #expect(level["on_hand"] == 2 && level["pending"] == 2 && level["available"] == 0)
        let refused = try await buyer.request([
            "type": "checkout", "id": "c2", "stream": "shop", "region": "DE", "idempotency_key": "k2",
            "items": [["product": "p1", "qty": 1, "price_seen": 1_000]],
        ])
        #expect(refused["code"] == "sold_out")
        let read = try await service.request(["type": "inventory.get", "id": "g", "products": ["p1", "none"]])
        #expect(read["items"]?.arrayValue?.count == 1)
        // Another merchant's service cannot name this one: the merchant is its token's.
        let bad = try await service.request(["type": "inventory.set", "id": "b", "items": [["product": "p1"]]])
        #expect(bad["code"] == "bad_request")
        await service.close()
        await buyer.close()
        await server.stop()
    }

    /// `merchants.<id>.stock = merchant`: the merchant's API alone sets its levels.
    @Test func aMerchantThatSetsItsOwnLevelsOverridesHosts() async throws {
        let server = try await TestGateway.start { configuration in
            var merchant = MerchantBackendConfiguration(kind: nil)
            merchant.stock = .merchant
            configuration.orders.merchants["m1"] = merchant
        }
        // The catalog's 5 is ignored: not limited until the merchant says.
        try await server.catalog("shop", ["p1"], stock: 5)
        let host = try await bearer(server, .host)
        func shown() async throws -> Int? {
            let read = try await HTTP.request("GET", port: server.port, path: "/v1/streams/shop", headers: host)
            let catalog = (read.json?["state"] as? [String: Any])?["catalog"] as? [[String: Any]]
            return catalog?.first { $0["id"] as? String == "p1" }?["stock"] as? Int
        }
        #expect(try await shown() == nil)
        do {
            _ = try await server.publish("shop", "stock.changed", ["product": "p1", "level": 50])
            Issue.record("a host set a level the merchant keeps")
        } catch {
            #expect("\(error)".contains("forbidden"))
        }
        let headers = try await bearer(server, .orderService, merchant: "m1")
        let set = try await HTTP.request(
            "POST", port: server.port, path: "/v1/merchants/m1/inventory", headers: headers, body: #"{"items":[{"product":"p1","on_hand":7}]}"#)
        #expect(set.status == 200)
        #expect(try await shown() == 7)
        await server.stop()
    }
}
