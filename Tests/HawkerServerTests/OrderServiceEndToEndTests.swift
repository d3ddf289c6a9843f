import Foundation
import HawkerAuth
import HawkerOrders
import HawkerProtocol
import HawkerServer
import Testing

/// Order services over WebSocket: shared work, redelivery after the visibility timeout
/// or a dropped connection, replays on request, and the refusals of a wrong caller.
@Suite struct OrderServiceEndToEndTests {

    private func gateway(visibility: Int = 30_000) async throws -> TestGateway {
        let server = try await TestGateway.start {
            var backend = MerchantBackendConfiguration(kind: .orderService)
            backend.visibilityTimeoutMilliseconds = visibility
            $0.orders.merchants["m1"] = backend
            $0.orders.retry.baseDelayMilliseconds = 10
            $0.orders.retry.maxDelayMilliseconds = 50
            // Fast retries while no service is connected must not dead-letter the order
            // before the next one connects (on a loaded machine that can take seconds).
            $0.orders.retry.maxAttempts = 100_000
            $0.orders.breakerThreshold = 1_000
        }
        try await server.catalog("shop", ["p1"], stock: 100)
        _ = try await server.publish("shop", "product.pinned", ["product": "p1"])
        return server
    }

    private func buy(_ server: TestGateway, buyer: String, count: Int) async throws -> [String] {
        let client = try await server.client(.viewer, streams: ["shop"], sub: buyer)
        var ids: [String] = []
        for index in 0..<count {
            let reply = try await client.request([
                "type": "checkout", "id": "k\(index)", "stream": "shop", "region": "DE", "idempotency_key": .string("\(buyer)-\(index)"),
                "items": [["product": "p1", "qty": 1, "price_seen": 1_000]],
            ])
            ids.append(try #require(reply["checkout_id"]?.stringValue))
        }
        await client.close()
        return ids
    }

    private func subscribed(_ server: TestGateway, sub: String, since: Int64? = nil) async throws -> TestClient {
        let service = try await server.client(.orderService, streams: [], sub: sub, merchant: "m1")
        var command: [String: JSONValue] = ["type": "orders.subscribe", "id": "o"]
        if let since { command["since"] = .int(since) }
        let reply = try await service.request(command)
        #expect(reply["type"] == "orders.subscribed")
        #expect(reply["merchant"] == "m1")
        return service
    }

    private func ack(_ service: TestClient, _ order: [String: JSONValue], reference: String = "ORD") async throws -> [String: JSONValue] {
        try await service.request(["type": "ack", "id": "a", "delivery": order["delivery"]!, "result": "confirmed", "reference": .string(reference)])
    }

    @Test func twoInstancesShareTheWorkAndEachOrderGoesToOne() async throws {
        let server = try await gateway()
        let first = try await subscribed(server, sub: "svc-a")
        let second = try await subscribed(server, sub: "svc-b")
        let ids = try await buy(server, buyer: "ana", count: 6)
        var seen: [String] = []
        for service in [first, second] {
            // Read all three before acknowledging (an ack's reply is awaited past pushes).
            var orders: [[String: JSONValue]] = []
            for _ in 0..<3 { orders.append(try await service.next("order.requested")) }
            for order in orders {
                #expect(order["replay"] == false)
                #expect(order["items"]?.arrayValue?.count == 1)
                seen.append(try #require(order["checkout_id"]?.stringValue))
                #expect(try await ack(service, order)["type"] == "acked")
            }
        }
        #expect(Set(seen) == Set(ids))
        await first.close()
        await second.close()
        await server.stop()
    }

    @Test func anUnacknowledgedOrderComesAgainUnderANewDeliveryID() async throws {
        let server = try await gateway(visibility: 300)
        let service = try await subscribed(server, sub: "svc")
        let ids = try await buy(server, buyer: "bo", count: 1)
        let first = try await service.next("order.requested")
        // Not acknowledged: after the visibility timeout it comes again.
        var again = try await service.next("order.requested")
        #expect(again["checkout_id"]?.stringValue == ids.first)
        #expect(again["delivery"] != first["delivery"])
        #expect((again["attempt"]?.intValue ?? 0) > (first["attempt"]?.intValue ?? 0))
        // The expired delivery id is refused; a live one is taken (on a slow machine the
        // second may expire too before its ack: then the next one).
        #expect(try await ack(service, first)["code"] == "unknown_delivery")
        while try await ack(service, again)["type"] != "acked" {
            again = try await service.next("order.requested")
        }
        await service.close()
        await server.stop()
    }

    @Test func aDroppedConnectionsOrdersGoToTheNextService() async throws {
        let server = try await gateway()
        let doomed = try await subscribed(server, sub: "svc-1")
        let ids = try await buy(server, buyer: "cy", count: 1)
        _ = try await doomed.next("order.requested")
        await doomed.close()
        let next = try await subscribed(server, sub: "svc-2")
        let order = try await next.next("order.requested")
        #expect(order["checkout_id"]?.stringValue == ids.first)
        #expect(try await ack(next, order)["type"] == "acked")
        await next.close()
        await server.stop()
    }

    @Test func aServiceThatLostItsRecordsAsksForAReplay() async throws {
        let server = try await gateway()
        let service = try await subscribed(server, sub: "svc")
        let ids = try await buy(server, buyer: "di", count: 2)
        var pending: [[String: JSONValue]] = []
        for _ in ids { pending.append(try await service.next("order.requested")) }
        for order in pending { _ = try await ack(service, order) }
        await service.close()
        let since = Int64(Date().timeIntervalSince1970 * 1000) - 60_000
        let restored = try await server.client(.orderService, streams: [], sub: "svc", merchant: "m1")
        try await restored.send(["type": "orders.subscribe", "id": "o", "since": .int(since)])
        let reply = try await restored.receive()
        #expect(reply["type"] == "orders.subscribed")
        #expect(reply["replayed"] == 2)
        var replays: [[String: JSONValue]] = []
        for _ in ids { replays.append(try await restored.next("order.requested")) }
        var replayed: [String] = []
        for order in replays {
            #expect(order["replay"] == true)
            replayed.append(try #require(order["checkout_id"]?.stringValue))
            // Acknowledging a replay changes nothing, and is accepted.
            #expect(try await ack(restored, order)["type"] == "acked")
        }
        #expect(Set(replayed) == Set(ids))
        await restored.close()
        await server.stop()
    }

    @Test func onlyOrderServicesOfTheMerchantMayAnswer() async throws {
        let server = try await gateway()
        let viewer = try await server.client(.viewer, streams: ["shop"], sub: "eve")
        #expect(try await viewer.request(["type": "orders.subscribe", "id": "o"])["code"] == "forbidden")
        #expect(try await viewer.request(["type": "ack", "id": "a", "delivery": "dl_1", "result": "confirmed", "reference": "x"])["code"] == "forbidden")
        let other = try await server.client(.orderService, streams: [], sub: "svc-x", merchant: "m2")
        let ids = try await buy(server, buyer: "fa", count: 1)
        let update = try await other.request(["type": "order.update", "id": "u", "checkout_id": .string(ids[0]), "status": "shipped"])
        #expect(update["code"] == "unknown_checkout")
        #expect(try await other.request(["type": "ack", "id": "a", "delivery": "dl_nope", "result": "rejected", "reason": "no"])["code"] == "unknown_delivery")
        #expect(try await other.request(["type": "ack", "id": "b", "delivery": "dl_nope", "result": "confirmed"])["code"] == "bad_request")
        await viewer.close()
        await other.close()
        await server.stop()
    }
}
