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
@Suite(.serialized) struct CheckoutStorm {

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

    /// One merchant product shown in two streams has one stock: 10,000 checkouts spread
    /// over both streams on 100 units sell exactly 100, and each stream's viewers see the
    /// level the other stream's sales leave.
    @Test(.timeLimit(.minutes(3))) func oneProductInTwoStreamsSellsItsUnitsOnce() async throws {
        let server = try await TestGateway.start {
            $0.commandsPerSecond = 100_000
            $0.commandBurst = 100_000
            $0.quotas.checkoutsPerMinute = 600_000
            $0.quotas.checkoutBurst = 100_000
        }
        // The first stream sets the level; the second lists the product without one.
        try await server.catalog("shop-a", ["drop"], price: 2_500, stock: 100)
        _ = try await server.publish(
            "shop-b", "catalog.set", ["products": [["id": "drop", "title": "Drop", "merchant": "m1", "price": 2_500, "currency": "EUR"]]])
        for stream in ["shop-a", "shop-b"] { _ = try await server.publish(stream, "product.pinned", ["product": "drop"]) }
        let watcher = try await server.client(.viewer, streams: ["shop-b"], sub: "watcher")
        let subscribed = try await watcher.request(["type": "subscribe", "id": "s", "stream": "shop-b"])
        let shown = subscribed["state"]?["catalog"]?.arrayValue?.first?["stock"]?.intValue
        #expect(shown == 100, "the second stream shows the level the first set")

        let results = try await withThrowingTaskGroup(of: (accepted: Int, soldOut: Int, other: [String]).self) { group in
            for index in 0..<100 {
                group.addTask {
                    let stream = index % 2 == 0 ? "shop-a" : "shop-b"
                    let buyer = try await server.client(.viewer, streams: [stream], sub: "buyer-\(index)")
                    for attempt in 0..<100 {
                        try await buyer.send([
                            "type": "checkout", "id": .string("k\(attempt)"), "stream": .string(stream), "region": "DE",
                            "idempotency_key": .string("two-\(attempt)"), "items": [["product": "drop", "qty": 1, "price_seen": 2_500]],
                        ])
                    }
                    var result = (accepted: 0, soldOut: 0, other: [String]())
                    var answered = 0
                    while answered < 100 {
                        let reply = try await buyer.receive()
                        guard reply["re"] != nil else { continue }
                        answered += 1
                        if reply["type"] == "checkout.accepted" {
                            result.accepted += 1
                        } else if reply["code"] == "sold_out" {
                            result.soldOut += 1
                        } else {
                            result.other.append(reply["code"]?.stringValue ?? "\(reply)")
                        }
                    }
                    await buyer.close()
                    return result
                }
            }
            return try await group.reduce(into: (accepted: 0, soldOut: 0, other: [String]())) {
                $0.accepted += $1.accepted
                $0.soldOut += $1.soldOut
                $0.other += $1.other
            }
        }
        #expect(results.accepted == 100, "exactly the 100 units were sold, over both streams")
        #expect(results.soldOut == 9_900)
        #expect(results.other.isEmpty, "\(results.other.prefix(5))")
        // Both streams show none left; the watcher of the second heard it go to 0.
        var last: Int64?
        while last != 0 {
            let event = try await watcher.next("event")
            if event["kind"] == "stock.changed" { last = event["data"]?["level"]?.intValue }
        }
        for stream in ["shop-a", "shop-b"] {
            let state = try #require(try await server.gateway.streams.snapshot(of: StreamID(stream)!).get())
            let catalog = try JSONParser.parse(state.stateJSON)["catalog"]?.arrayValue
            #expect(catalog?.first?["stock"]?.intValue == 0, "\(stream) shows the shared level")
        }
        await watcher.close()
        await server.stop()
    }
}
