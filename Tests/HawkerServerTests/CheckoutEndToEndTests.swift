import Foundation
import HawkerAuth
import HawkerHub
import HawkerProtocol
import HawkerServer
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// Checkout over real sockets with the demo backend: replies, refusals in order,
/// idempotency, results back to the buyer (live and after a reconnect), stock moving for
/// every viewer, and a flash sale stormed by 10,000 checkouts.
@Suite struct CheckoutEndToEndTests {

    private func checkout(
        _ client: TestClient, id: String = "k", stream: String = "shop", product: String = "p1", qty: Int64 = 1, price: Int64 = 1_000,
        key: String, code: String? = nil
    ) -> [String: JSONValue] {
        var command: [String: JSONValue] = [
            "type": "checkout", "id": .string(id), "stream": .string(stream),
            "items": [["product": .string(product), "qty": .int(qty), "price_seen": .int(price)]],
            "region": "DE", "idempotency_key": .string(key),
        ]
        if let code { command["attribution"] = ["code": .string(code), "stream": .string(stream)] }
        return command
    }

    /// A stream with `products` (merchant m1, 1,000 cents, `stock` each) pinned.
    private func shop(_ server: TestGateway, _ products: [String] = ["p1"], stock: Int64 = 10) async throws {
        try await server.catalog("shop", products, stock: stock)
        for product in products { _ = try await server.publish("shop", "product.pinned", ["product": .string(product)]) }
    }

    @Test func anAcceptedCheckoutIsConfirmedToTheBuyerAndMovesTheStockForEveryone() async throws {
        let server = try await TestGateway.start()
        try await shop(server, stock: 3)
        // Only registered codes are credited (AttributionEndToEndTests has the rest).
        let admin = try await server.token(.admin, streams: [], sub: "ops")
        let registered = try await HTTP.request(
            "PUT", port: server.port, path: "/v1/affiliate-codes/ANNA10", headers: ["Authorization": "Bearer \(admin)"],
            body: #"{"owner":"anna","commission_bps":1000}"#)
        #expect(registered.status == 201)
        let watcher = try await server.client(.viewer, streams: ["shop"], sub: "watcher")
        _ = try await watcher.request(["type": "subscribe", "id": "s", "stream": "shop"])
        let buyer = try await server.client(.viewer, streams: ["shop"], sub: "ana")

        let accepted = try await buyer.request(checkout(buyer, qty: 2, key: "cart-1", code: "ANNA10"))
        #expect(accepted["type"] == "checkout.accepted")
        #expect(accepted["replayed"] == false)
        #expect(accepted["merchants"] == ["m1"])
        #expect(accepted["totals"] == [["currency": "EUR", "amount": 2_000]])
        #expect(accepted["items"] == [["product": "p1", "qty": 2, "unit_price": 1_000, "currency": "EUR", "merchant": "m1"]])
        let checkoutID = try #require(accepted["checkout_id"]?.stringValue)

        let confirmed = try await buyer.next("order.confirmed")
        #expect(confirmed["checkout_id"]?.stringValue == checkoutID)
        #expect(confirmed["merchant"] == "m1")
        #expect(confirmed["stream"] == "shop")
        #expect(confirmed["reference"]?.stringValue?.hasPrefix("DEMO-m1-") == true)

        let stock = try await watcher.next("event")
        #expect(stock["kind"] == "stock.changed")
        #expect(stock["data"]?["level"] == 1)

        // The same key again: the first answer, not a second checkout.
        let again = try await buyer.request(checkout(buyer, id: "k2", qty: 2, key: "cart-1"))
        #expect(again["checkout_id"]?.stringValue == checkoutID)
        #expect(again["replayed"] == true)

        // Insights count the checkout and, once settled, the order, per product and code.
        let host = try await server.token(.host, streams: ["shop"], sub: "host")
        var orders: [String: Any]?
        for _ in 0..<200 {
            let insights = try await HTTP.request("GET", port: server.port, path: "/v1/streams/shop/insights", headers: ["Authorization": "Bearer \(host)"])
            orders = insights.json?["orders"] as? [String: Any]
            if orders?["confirmed"] as? Int == 1 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(orders?["confirmed"] as? Int == 1)
        #expect((orders?["by_attribution_code"] as? [[String: Any]])?.first?["code"] as? String == "ANNA10")
        await buyer.close()
        await watcher.close()
        await server.stop()
    }

    @Test func refusalsComeInTheDocumentedOrderWithWhatToDoNext() async throws {
        let server = try await TestGateway.start()
        _ = try await server.publish(
            "shop", "catalog.set",
            [
                "products": [
                    ["id": "p1", "title": "Pinned", "merchant": "m1", "price": 1_000, "currency": "EUR", "stock": 2, "regions": ["DE"]],
                    ["id": "p2", "title": "Not pinned", "merchant": "m1", "price": 500, "currency": "EUR", "stock": 5],
                ]
            ])
        _ = try await server.publish("shop", "product.pinned", ["product": "p1"])
        let buyer = try await server.client(.viewer, streams: ["shop"], sub: "bo")

        func code(_ command: [String: JSONValue]) async throws -> [String: JSONValue] {
            let reply = try await buyer.request(command)
            #expect(reply["type"] == "error")
            return reply
        }
        #expect(try await code(checkout(buyer, product: "nope", key: "a"))["code"] == "unknown_product")
        #expect(try await code(checkout(buyer, product: "p2", price: 500, key: "b"))["code"] == "not_buyable")
        let price = try await code(checkout(buyer, price: 900, key: "c"))
        #expect(price["code"] == "price_changed")
        #expect(price["current_price"] == 1_000)
        #expect(price["product"] == "p1")
        var elsewhere = checkout(buyer, key: "d")
        elsewhere["region"] = "FR"
        #expect(try await code(elsewhere)["code"] == "region_not_served")
        let short = try await code(checkout(buyer, qty: 3, key: "e"))
        #expect(short["code"] == "insufficient_stock")
        #expect(short["available"] == 2)
        #expect(try await buyer.request(checkout(buyer, qty: 2, key: "f"))["type"] == "checkout.accepted")
        let gone = try await code(checkout(buyer, key: "g"))
        #expect(gone["code"] == "sold_out")
        #expect(gone["available"] == 0)
        // A refusal is remembered per key too.
        #expect(try await code(checkout(buyer, price: 900, key: "c"))["code"] == "price_changed")
        // Shapes the command decoder refuses.
        var empty = checkout(buyer, key: "h")
        empty["items"] = []
        #expect(try await code(empty)["code"] == "invalid_checkout")
        var unkeyed = checkout(buyer, key: "i")
        unkeyed["idempotency_key"] = nil
        #expect(try await code(unkeyed)["code"] == "bad_request")
        // Not for anonymous viewers, order services, or another stream's viewers.
        let service = try await server.client(.orderService, streams: [], sub: "svc", merchant: "m1")
        #expect(try await service.request(checkout(service, key: "j"))["code"] == "forbidden")
        let stranger = try await server.client(.viewer, streams: ["other"], sub: "x")
        #expect(try await stranger.request(checkout(stranger, key: "k"))["code"] == "forbidden")
        await server.stop()
    }

    @Test func anonymousViewersMaySeeButNotBuy() async throws {
        let server = try await TestGateway.start { $0.anonymousViewers = true }
        try await shop(server)
        let anonymous = try await server.open()
        try await anonymous.send(["type": "connect", "id": "c"])
        #expect(try await anonymous.receive()["type"] == "welcome")
        let reply = try await anonymous.request(checkout(anonymous, key: "a"))
        #expect(reply["code"] == "forbidden")
        await server.stop()
    }

    /// The buyer is gone when the merchant answers: the result waits in the outbox and
    /// comes right after `welcome` on the next connection, once.
    @Test func resultsWaitForTheBuyersNextConnection() async throws {
        let server = try await TestGateway.start {
            $0.orders.merchants["m1"] = MerchantBackendConfiguration(kind: .orderService)
        }
        try await shop(server)
        let buyer = try await server.client(.viewer, streams: ["shop"], sub: "cy")
        let accepted = try await buyer.request(checkout(buyer, key: "later"))
        let checkoutID = try #require(accepted["checkout_id"]?.stringValue)
        await buyer.close()

        let service = try await server.client(.orderService, streams: [], sub: "svc", merchant: "m1")
        #expect(try await service.request(["type": "orders.subscribe", "id": "o"])["type"] == "orders.subscribed")
        let order = try await service.next("order.requested")
        #expect(order["checkout_id"]?.stringValue == checkoutID)
        #expect(try await service.request(["type": "ack", "id": "a", "delivery": order["delivery"]!, "result": "confirmed", "reference": "ORD-1"])["type"] == "acked")
        // Later, a status update from the merchant.
        #expect(try await service.request(["type": "order.update", "id": "u", "checkout_id": .string(checkoutID), "status": "shipped", "tracking": "1Z999"])["type"] == "order.updated")

        let back = try await server.client(.viewer, streams: ["shop"], sub: "cy")
        let confirmed = try await back.next("order.confirmed")
        #expect(confirmed["reference"] == "ORD-1")
        let status = try await back.next("order.status")
        #expect(status["status"] == "shipped")
        #expect(status["tracking"] == "1Z999")
        await back.close()
        // Delivered once: a third connection gets nothing old (a ping answers first).
        let third = try await server.client(.viewer, streams: ["shop"], sub: "cy")
        #expect(try await third.request(["type": "ping", "id": "p"])["type"] == "pong")
        await third.close()
        await service.close()
        await server.stop()
    }
}
