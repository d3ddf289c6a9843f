import Foundation
import HawkerAuth
import HawkerProtocol
import HawkerServer
import NIOCore
import Testing

/// A buyer's order history over real sockets: on a new connection (a new device) the
/// buyer sees their orders newest first, each merchant's part with its outcome and its
/// latest shipping status and tracking; over WebSocket and HTTP alike, page by page, and
/// nobody else's.
@Suite struct OrderHistoryEndToEndTests {
    @Test func aBuyerOnANewDeviceSeesTheirOrdersWithStatusesAndTracking() async throws {
        let server = try await TestGateway.start()
        let host = try await server.client(.host, streams: ["shop"], sub: "host")
        let products: JSONValue = [
            ["id": "lamp", "title": "Lamp", "merchant": "m1", "price": 2_500, "currency": "EUR", "stock": 5],
            ["id": "mug", "title": "Mug", "merchant": "m2", "price": 1_200, "currency": "EUR", "stock": 5],
        ]
        for (kind, data) in [("catalog.set", ["products": products]), ("product.pinned", ["product": "lamp"]), ("product.pinned", ["product": "mug"])]
            as [(String, JSONValue)]
        {
            let reply = try await host.request(["type": "publish", "id": "p", "stream": "shop", "event": ["kind": .string(kind), "data": data]])
            try #require(reply["type"] == "published", "\(reply)")
        }

        // Two checkouts on one device; the demo backend confirms each merchant's part.
        let phone = try await server.client(.viewer, streams: ["shop"], sub: "ana")
        var ids: [String] = []
        for (key, items) in [("k1", [("lamp", 1, 2_500), ("mug", 2, 1_200)]), ("k2", [("mug", 1, 1_200)])] as [(String, [(String, Int64, Int64)])] {
            let accepted = try await phone.request([
                "type": "checkout", "id": .string(key), "stream": "shop", "region": "DE", "idempotency_key": .string(key),
                "items": .array(items.map { ["product": .string($0.0), "qty": .int($0.1), "price_seen": .int($0.2)] }),
            ])
            try #require(accepted["type"] == "checkout.accepted", "\(accepted)")
            ids.append(try #require(accepted["checkout_id"]?.stringValue))
        }
        // Until the demo backend confirmed all three parts (their pushes may come before a
        // reply, so the history itself is asked).
        let deadline = Date().addingTimeInterval(30)
        while true {
            let orders = try await phone.request(["type": "order.history", "id": "wait"])["orders"]?.arrayValue ?? []
            if orders.count == 2, orders.allSatisfy({ $0["status"] == "confirmed" }) { break }
            try #require(Date() < deadline, "the parts were not confirmed: \(orders)")
            try await Task.sleep(for: .milliseconds(20))
        }
        await phone.close()

        // The lamp's merchant ships it, with tracking.
        let lamps = try await server.token(.orderService, streams: [], sub: "m1-svc", merchant: "m1")
        let shipped = try await HTTP.request(
            "POST", port: server.port, path: "/v1/orders/\(ids[0])/status", headers: ["Authorization": "Bearer \(lamps)", "Content-Type": "application/json"],
            body: #"{"status":"shipped","tracking":"DHL 00340434"}"#)
        #expect(shipped.status == 202)

        // A new device: the history, newest first.
        let laptop = try await server.client(.viewer, streams: ["shop"], sub: "ana")
        let history = try await laptop.request(["type": "order.history", "id": "h1"])
        #expect(history["type"] == "order.history")
        let orders = try #require(history["orders"]?.arrayValue)
        #expect(orders.map { $0["checkout_id"] } == [.string(ids[1]), .string(ids[0])])
        #expect(orders.map { $0["status"] } == ["confirmed", "confirmed"])
        let first = orders[1]
        #expect(first["totals"] == [["currency": "EUR", "amount": 4_900]])
        #expect(first["items"]?.arrayValue?.count == 2)
        let parts = try #require(first["parts"]?.arrayValue)
        #expect(parts.map { $0["merchant"] } == ["m1", "m2"])
        #expect(parts.map { $0["status"] } == ["confirmed", "confirmed"])
        #expect(parts[0]["reference"]?.stringValue != nil)
        #expect(parts[0]["fulfilment"]?["status"] == "shipped")
        #expect(parts[0]["fulfilment"]?["tracking"] == "DHL 00340434")
        #expect(parts[1]["fulfilment"] == nil)
        #expect(history["next_after"] == nil)

        // Page by page.
        let page = try await laptop.request(["type": "order.history", "id": "h2", "limit": 1])
        #expect(page["orders"]?.arrayValue?.map { $0["checkout_id"] } == [.string(ids[1])])
        let next = try await laptop.request(["type": "order.history", "id": "h3", "limit": 1, "after": try #require(page["next_after"])])
        #expect(next["orders"]?.arrayValue?.map { $0["checkout_id"] } == [.string(ids[0])])
        #expect(try await laptop.request(["type": "order.history", "id": "h4", "limit": 0])["code"] == "bad_request")

        // The same over HTTP; nobody else's orders, and none for an order service.
        let ana = try await server.token(.viewer, streams: ["shop"], sub: "ana")
        let http = try await HTTP.request("GET", port: server.port, path: "/v1/me/orders?limit=5", headers: ["Authorization": "Bearer \(ana)"])
        #expect(http.status == 200)
        #expect((http.json?["orders"] as? [[String: Any]])?.compactMap { $0["checkout_id"] as? String } == [ids[1], ids[0]])
        let ben = try await server.client(.viewer, streams: ["shop"], sub: "ben")
        #expect(try await ben.request(["type": "order.history", "id": "h"])["orders"] == [])
        #expect(try await HTTP.request("GET", port: server.port, path: "/v1/me/orders", headers: ["Authorization": "Bearer \(lamps)"]).status == 403)
        #expect(try await HTTP.request("GET", port: server.port, path: "/v1/me/orders").status == 401)
        let service = try await server.client(.orderService, streams: [], sub: "m1-svc", merchant: "m1")
        #expect(try await service.request(["type": "order.history", "id": "h"])["code"] == "forbidden")

        for client in [host, laptop, ben, service] { await client.close() }
        await server.stop()
    }
}
