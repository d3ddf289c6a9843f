import Foundation
import HawkerAuth
import HawkerProtocol
import HawkerServer
import NIOCore
import Testing

/// A buyer asks, over real sockets: to cancel part of an order before it ships (the
/// merchant's order service receives the request and accepts it: units back in stock,
/// the influencer's commission on them taken back) and, once it shipped, to return some
/// (the merchant declines). Somebody else's order, a cancel after shipment and more units
/// than are left are refused, and the history shows every request.
@Suite struct RequestsEndToEndTests {
    private static func available(_ server: TestGateway, token: String) async throws -> Int? {
        let read = try await HTTP.request("GET", port: server.port, path: "/v1/merchants/m1/inventory/tee", headers: ["Authorization": "Bearer \(token)"])
        return (read.json?["items"] as? [[String: Any]])?.first?["available"] as? Int
    }

    private static func ask(_ server: TestGateway, _ checkoutID: String, token: String, _ body: String) async throws -> HTTP.Response {
        try await HTTP.request(
            "POST", port: server.port, path: "/v1/me/orders/\(checkoutID)/requests",
            headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"], body: body)
    }

    @Test func aBuyerCancelsBeforeShipmentAndAsksForAReturnAfter() async throws {
        let server = try await TestGateway.start()
        let admin = try await server.token(.admin, streams: [], sub: "ops")
        let json = ["Authorization": "Bearer \(admin)", "Content-Type": "application/json"]
        #expect(try await HTTP.request("PUT", port: server.port, path: "/v1/affiliate-codes/anna10", headers: json, body: #"{"owner":"anna","commission_bps":1000}"#).status == 201)
        #expect(try await HTTP.request("PUT", port: server.port, path: "/v1/merchants/m1", headers: json, body: #"{"backend":{"kind":"order_service"}}"#).status == 201)
        let service = try await server.client(.orderService, streams: [], sub: "m1-svc", merchant: "m1")
        #expect(try await service.request(["type": "orders.subscribe", "id": "o"])["type"] == "orders.subscribed")
        let host = try await server.client(.host, streams: ["shop"], sub: "host")
        for (kind, data) in [
            ("catalog.set", ["products": [["id": "tee", "title": "Tee", "merchant": "m1", "price": 1_000, "currency": "EUR", "stock": 5]]]),
            ("product.pinned", ["product": "tee"]),
        ] as [(String, JSONValue)] {
            let reply = try await host.request(["type": "publish", "id": "p", "stream": "shop", "event": ["kind": .string(kind), "data": data]])
            try #require(reply["type"] == "published", "\(reply)")
        }

        // Three tees through Anna's code.
        let buyer = try await server.client(.viewer, streams: ["shop"], sub: "ana")
        let accepted = try await buyer.request([
            "type": "checkout", "id": "k", "stream": "shop", "region": "DE", "idempotency_key": "k1", "items": [["product": "tee", "qty": 3, "price_seen": 1_000]],
            "attribution": ["code": "ANNA10"],
        ])
        try #require(accepted["type"] == "checkout.accepted", "\(accepted)")
        let checkoutID = try #require(accepted["checkout_id"]?.stringValue)
        let cancelOne: [String: JSONValue] = [
            "type": "order.request", "id": "r", "checkout_id": .string(checkoutID), "merchant": "m1", "request_id": "c-1", "kind": "cancel",
            "items": [["product": "tee", "qty": 1]], "reason": "one too many",
        ]
        // Not before the merchant confirmed.
        #expect(try await buyer.request(cancelOne)["code"] == "request_refused")
        let order = try await service.next("order.requested")
        #expect(order["kind"] == "sale")
        #expect(try await service.request(["type": "ack", "id": "a", "delivery": order["delivery"]!, "result": "confirmed", "reference": "SO-1"])["type"] == "acked")
        _ = try await buyer.next("order.confirmed")
        #expect(try await Self.available(server, token: admin) == 2)

        // Somebody else's order is no order; another merchant's part neither.
        let mallory = try await server.client(.viewer, streams: ["shop"], sub: "mallory")
        #expect(try await mallory.request(cancelOne)["code"] == "unknown_checkout")
        var elsewhere = cancelOne
        elsewhere["merchant"] = "m2"
        #expect(try await buyer.request(elsewhere)["code"] == "unknown_checkout")
        var odd = cancelOne
        odd["kind"] = "swap"
        #expect(try await buyer.request(odd)["code"] == "bad_request")

        // 1. Cancel one tee: stored, then delivered to the merchant with its order's reference.
        let reply = try await buyer.request(cancelOne)
        #expect(reply["type"] == "order.request" && reply["status"] == "pending" && reply["items"] == [["product": "tee", "qty": 1]], "\(reply)")
        let request = try await service.next("order.requested")
        #expect(request["kind"] == "cancel_request" && request["request_id"] == "c-1" && request["reference"] == "SO-1" && request["reason"] == "one too many")
        #expect(request["idempotency_key"]?.stringValue == "\(checkoutID):m1/request/c-1")
        #expect(try await service.request(["type": "ack", "id": "a2", "delivery": request["delivery"]!, "result": "confirmed", "reference": "CX-7"])["type"] == "acked")
        let received = try await buyer.next("order.request.status")
        #expect(received["status"] == "received" && received["request_id"] == "c-1")
        // The merchant accepts it: the request's unit back in stock, Anna's commission on it back.
        let cancelled: [String: JSONValue] = ["type": "order.update", "id": "u", "checkout_id": .string(checkoutID), "status": "cancelled", "request_id": "c-1"]
        #expect(try await service.request(cancelled)["type"] == "order.updated")
        let status = try await buyer.next("order.status")
        #expect(status["status"] == "cancelled" && status["items"] == [["product": "tee", "qty": 1]] && status["return_id"] == "c-1")
        let acceptedNotice = try await buyer.next("order.request.status")
        #expect(acceptedNotice["status"] == "accepted" && acceptedNotice["kind"] == "cancel")
        #expect(try await Self.available(server, token: admin) == 3)
        let anna = try await server.token(.affiliate, streams: [], sub: "anna")
        let earnings = try await HTTP.request("GET", port: server.port, path: "/v1/affiliates/anna/earnings", headers: ["Authorization": "Bearer \(anna)"])
        let totals = try #require((earnings.json?["totals"] as? [[String: Any]])?.first)
        #expect(totals["commission"] as? Int == 200 && totals["returned_commission"] as? Int == 100, "\(totals)")
        // Answered once: a second acceptance is refused, the buyer's retry gets the request as it stands.
        #expect(try await service.request(cancelled)["type"] == "order.updated", "the same reversal again changes nothing")
        var again = cancelled
        again["return_id"] = "other"
        #expect(try await service.request(again)["code"] == "bad_request")
        #expect(try await buyer.request(cancelOne)["status"] == "accepted")

        // 2. Shipped: no more cancelling (over HTTP too), a return instead, which the merchant declines.
        let shipped: [String: JSONValue] = ["type": "order.update", "id": "s", "checkout_id": .string(checkoutID), "status": "shipped", "tracking": "DHL-1"]
        #expect(try await service.request(shipped)["type"] == "order.updated")
        _ = try await buyer.next("order.status")
        let token = try await server.token(.viewer, streams: ["shop"], sub: "ana")
        let late = try await Self.ask(server, checkoutID, token: token, #"{"merchant":"m1","request_id":"c-2","kind":"cancel"}"#)
        #expect(late.status == 409 && late.body.contains("request_refused"), "\(late.body)")
        let tooMany = try await Self.ask(server, checkoutID, token: token, #"{"merchant":"m1","request_id":"r-1","kind":"return","items":[{"product":"tee","qty":3}]}"#)
        #expect(tooMany.status == 409, "two tees are left: \(tooMany.body)")
        let returning = try await Self.ask(
            server, checkoutID, token: token, #"{"merchant":"m1","request_id":"r-1","kind":"return","items":[{"product":"tee","qty":2}],"reason":"too small"}"#)
        #expect(returning.status == 202 && returning.json?["status"] as? String == "pending", "\(returning.body)")
        #expect(try await Self.ask(server, checkoutID, token: try await server.token(.orderService, streams: [], sub: "svc", merchant: "m1"), "{}").status == 403)
        let returnRequest = try await service.next("order.requested")
        #expect(returnRequest["kind"] == "return_request" && returnRequest["items"] == [["product": "tee", "qty": 2]])
        #expect(try await service.request(["type": "ack", "id": "a3", "delivery": returnRequest["delivery"]!, "result": "confirmed", "reference": "RMA-2"])["type"] == "acked")
        _ = try await buyer.next("order.request.status")
        let declined: [String: JSONValue] = [
            "type": "order.update", "id": "d", "checkout_id": .string(checkoutID), "status": "declined", "request_id": "r-1", "note": "worn items are not taken back",
        ]
        #expect(try await service.request(declined)["type"] == "order.updated")
        let no = try await buyer.next("order.request.status")
        #expect(no["status"] == "declined" && no["answer"] == "worn items are not taken back")
        #expect(try await Self.available(server, token: admin) == 3, "a declined return puts nothing back")

        // The history shows both requests on the part, oldest first.
        let history = try await buyer.request(["type": "order.history", "id": "h"])
        let part = try #require(history["orders"]?.arrayValue?.first?["parts"]?.arrayValue?.first)
        #expect(part["requests"]?.arrayValue?.map { $0["request_id"] } == ["c-1", "r-1"])
        #expect(part["requests"]?.arrayValue?.map { $0["status"] } == ["accepted", "declined"])
        #expect(part["fulfilment"]?["status"] == "shipped")

        for client in [host, buyer, service, mallory] { await client.close() }
        await server.stop()
    }

    /// The demo merchant (the embedded default) accepts every request on its own.
    @Test func theDemoMerchantAcceptsARequest() async throws {
        let server = try await TestGateway.start()
        let host = try await server.client(.host, streams: ["shop"], sub: "host")
        for (kind, data) in [
            ("catalog.set", ["products": [["id": "tee", "title": "Tee", "merchant": "m1", "price": 1_000, "currency": "EUR", "stock": 5]]]),
            ("product.pinned", ["product": "tee"]),
        ] as [(String, JSONValue)] {
            _ = try await host.request(["type": "publish", "id": "p", "stream": "shop", "event": ["kind": .string(kind), "data": data]])
        }
        let buyer = try await server.client(.viewer, streams: ["shop"], sub: "ana")
        let (accepted, _) = try await buyer.request(
            ["type": "checkout", "id": "k", "stream": "shop", "region": "DE", "idempotency_key": "k1", "items": [["product": "tee", "qty": 2, "price_seen": 1_000]]],
            alsoAwaiting: "order.confirmed")
        let checkoutID = try #require(accepted["checkout_id"]?.stringValue)
        let reply = try await buyer.request([
            "type": "order.request", "id": "r", "checkout_id": .string(checkoutID), "merchant": "m1", "request_id": "c-1", "kind": "cancel",
        ])
        #expect(reply["items"] == [["product": "tee", "qty": 2]])
        // The cancellation's order.status, then the acceptance (a "received" may come first).
        #expect(try await buyer.next("order.status")["status"] == "cancelled")
        var status: JSONValue?
        while status != "accepted" { status = try await buyer.next("order.request.status")["status"] }
        for client in [host, buyer] { await client.close() }
        await server.stop()
    }
}
