import Foundation
import HawkerAuth
import HawkerHub
import HawkerProtocol
import HawkerServer
import NIOCore
import Testing

/// Load-heavy checkout tests. scripts/test.sh runs the suites whose names end in "Storm"
/// after the others, on their own, so that their CPU load cannot starve the timing of
/// unrelated tests (connect deadlines, slow-consumer timeouts).
@Suite struct CheckoutStorm {

    private func checkout(_ client: TestClient, id: String, key: String) -> [String: JSONValue] {
        [
            "type": "checkout", "id": .string(id), "stream": "shop", "region": "DE", "idempotency_key": .string(key),
            "items": [["product": "drop", "qty": 1, "price_seen": 2_500]],
        ]
    }

    /// 10,000 checkouts from 100 buyers on a flash sale of 100 units: exactly 100
    /// accepted, the rest sold out; the merchant rejects 10 orders, their units come back
    /// and exactly 10 more checkouts get them. Never more sold than stocked.
    @Test func aFlashSaleOf100UnitsStormedBy10000CheckoutsNeverOversells() async throws {
        let server = try await TestGateway.start {
            $0.commandsPerSecond = 100_000
            $0.commandBurst = 100_000
            // 100 checkouts a buyer at once: past the per-buyer quota, which is not under test.
            $0.quotas.checkoutsPerMinute = 600_000
            $0.quotas.checkoutBurst = 100_000
            $0.orders.merchants["m1"] = MerchantBackendConfiguration(kind: .orderService)
        }
        try await server.catalog("shop", ["drop"], price: 5_000, stock: 100)
        _ = try await server.publish("shop", "sale.started", ["sale": "flash", "items": [["product": "drop", "price": 2_500]], "duration_ms": 600_000])

        func storm(buyers: Int, each: Int, round: String) async throws -> (accepted: [String], soldOut: Int, other: [String]) {
            try await withThrowingTaskGroup(of: ([String], Int, [String]).self) { group in
                for index in 0..<buyers {
                    group.addTask {
                        let buyer = try await server.client(.viewer, streams: ["shop"], sub: "buyer-\(index)")
                        for attempt in 0..<each {
                            try await buyer.send(checkout(buyer, id: "k\(attempt)", key: "\(round)-\(attempt)"))
                        }
                        var accepted: [String] = []
                        var soldOut = 0
                        var other: [String] = []
                        var answered = 0
                        while answered < each {
                            let reply = try await buyer.receive()
                            guard reply["re"] != nil else { continue }
                            answered += 1
                            if reply["type"] == "checkout.accepted", let id = reply["checkout_id"]?.stringValue {
                                accepted.append(id)
                            } else if reply["code"] == "sold_out" {
                                soldOut += 1
                            } else {
                                other.append(reply["code"]?.stringValue ?? "\(reply)")
                            }
                        }
                        await buyer.close()
                        return (accepted, soldOut, other)
                    }
                }
                var total: ([String], Int, [String]) = ([], 0, [])
                for try await result in group {
                    total.0 += result.0
                    total.1 += result.1
                    total.2 += result.2
                }
                return total
            }
        }

        let first = try await storm(buyers: 100, each: 100, round: "r1")
        #expect(first.accepted.count == 100)
        #expect(Set(first.accepted).count == 100)
        #expect(first.soldOut == 9_900)
        #expect(first.other.isEmpty)

        // The merchant's service confirms 90 and rejects 10 (out of stock on its side).
        let service = try await server.client(.orderService, streams: [], sub: "svc", merchant: "m1")
        _ = try await service.request(["type": "orders.subscribe", "id": "o"])
        var rejected = 0
        for _ in 0..<100 {
            let order = try await service.next("order.requested")
            let reject = rejected < 10
            if reject { rejected += 1 }
            try await service.send([
                "type": "ack", "id": "a", "delivery": order["delivery"]!,
                "result": reject ? "rejected" : "confirmed", reject ? "reason" : "reference": reject ? "warehouse short" : "ORD",
            ])
        }
        // Wait until the released units are back (stock.changed reaches the state).
        var level: Int64 = 0
        for _ in 0..<500 where level != 10 {
            let state = try await server.gateway.streams.snapshot(of: StreamID("shop")!).get()
            let json = try #require(state.map { String(buffer: $0.stateJSON) })
            let catalog = try JSONParser.parse(ByteBuffer(string: json))["catalog"]?.arrayValue
            level = catalog?.first?["stock"]?.intValue ?? -1
            if level != 10 { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(level == 10)

        let second = try await storm(buyers: 20, each: 50, round: "r2")
        #expect(second.accepted.count == 10)
        #expect(second.soldOut == 990)
        #expect(second.other.isEmpty)
        await service.close()
        await server.stop()
    }
}
