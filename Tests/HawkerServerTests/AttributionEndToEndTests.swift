import Foundation
import HawkerAuth
import HawkerHub
import HawkerProtocol
import HawkerServer
import NIOCore
import Testing

/// Influencer codes over real sockets: registered over HTTP, referrals over WebSocket,
/// checkouts credited line by line, and the merchants' webhooks receiving each line's
/// code, influencer and commission.
@Suite struct AttributionEndToEndTests {
    /// m1 and m2, each a webhook of its own.
    private static func webhooks(_ m1: WebhookReceiver, _ m2: WebhookReceiver) -> (inout GatewayConfiguration) -> Void {
        { configuration in
            for (merchant, receiver) in [("m1", m1), ("m2", m2)] {
                var backend = MerchantBackendConfiguration(kind: .webhook)
                backend.url = receiver.url
                backend.secret = receiver.secret
                configuration.orders.merchants[merchant] = backend
            }
        }
    }

    private static func put(_ server: TestGateway, _ code: String, token: String, _ body: String) async throws -> HTTP.Response {
        try await HTTP.request(
            "PUT", port: server.port, path: "/v1/affiliate-codes/\(code)", headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
            body: body)
    }

    private static func checkout(key: String, attribution: [String: JSONValue], items: [(String, Int64, Int64)]) -> [String: JSONValue] {
        [
            "type": "checkout", "id": .string(key), "stream": "live", "region": "DE", "idempotency_key": .string(key),
            "items": .array(items.map { ["product": .string($0.0), "qty": .int($0.1), "price_seen": .int($0.2)] }),
            "attribution": .object(attribution),
        ]
    }

    /// The order line of `product` that `receiver` got for `checkoutID`.
    private static func line(_ receiver: WebhookReceiver, _ checkoutID: String, merchant: String, product: String) throws -> JSONValue {
        let order = try #require(receiver.orders["\(checkoutID):\(merchant)"], "no order of \(merchant) for \(checkoutID)")
        return try #require(order.body["items"]?.arrayValue?.first { $0["product"]?.stringValue == product })
    }

    @Test func registeredCodesAreCreditedWithTheirCommissionOnEachLineAndUnknownOnesAreNot() async throws {
        let m1 = WebhookReceiver()
        let m2 = WebhookReceiver()
        try await m1.start()
        try await m2.start()
        let server = try await TestGateway.start(Self.webhooks(m1, m2))
        let admin = try await server.token(.admin, streams: [], sub: "ops")
        let shoes = try await server.token(.orderService, streams: [], sub: "m2-svc", merchant: "m2")

        // Anna's code pays 10 % on everything; Bob's, registered by m2, 5 % on m2's only;
        // the host's own 3 % is the default on the streams it hosts.
        #expect(try await Self.put(server, "anna10", token: admin, #"{"owner":"anna","commission_bps":1000}"#).status == 201)
        let bob = try await Self.put(server, "SHOE5", token: shoes, #"{"owner":"bob","commission_bps":500}"#)
        #expect(bob.status == 201)
        #expect(bob.json?["merchants"] as? [String] == ["m2"])
        #expect(bob.json?["registrar"] as? String == "merchant:m2")
        #expect(try await Self.put(server, "HOST3", token: admin, #"{"owner":"host","commission_bps":300,"host_default":true}"#).status == 201)

        // The host creates the stream: a tee of m1 and shoes of m2, both pinned.
        let host = try await server.client(.host, streams: ["live"], sub: "host")
        let products: JSONValue = [
            ["id": "tee", "title": "Tee", "merchant": "m1", "price": 1_000, "currency": "EUR", "stock": 10],
            ["id": "shoe", "title": "Shoe", "merchant": "m2", "price": 2_500, "currency": "EUR", "stock": 10],
        ]
        for (kind, data) in [("catalog.set", ["products": products]), ("product.pinned", ["product": "tee"]), ("product.pinned", ["product": "shoe"])]
            as [(String, JSONValue)]
        {
            let reply = try await host.request(["type": "publish", "id": "p", "stream": "live", "event": ["kind": .string(kind), "data": data]])
            try #require(reply["type"] == "published", "\(reply)")
        }

        // 1. The buyer types Anna's code: every line is hers, 10 % of each.
        let ana = try await server.client(.viewer, streams: ["live"], sub: "buyer-1")
        let first = try await ana.request(Self.checkout(key: "k1", attribution: ["code": "anna10"], items: [("tee", 2, 1_000), ("shoe", 1, 2_500)]))
        #expect(first["type"] == "checkout.accepted")
        #expect(first["attribution"] == ["codes": ["ANNA10"]])
        let firstID = try #require(first["checkout_id"]?.stringValue)

        // 2. A made-up code is not credited: the host's default is, and the buyer hears why.
        let ben = try await server.client(.viewer, streams: ["live"], sub: "buyer-2")
        let second = try await ben.request(Self.checkout(key: "k2", attribution: ["code": "I-MADE-THIS-UP"], items: [("tee", 1, 1_000)]))
        #expect(second["attribution"] == ["codes": ["HOST3"], "declined": ["code": "I-MADE-THIS-UP", "reason": "unknown_code"]])
        let secondID = try #require(second["checkout_id"]?.stringValue)

        // 3. Arrived through Bob's link: his code on m2's shoes, the host's on the tee.
        let cy = try await server.client(.viewer, streams: ["live"], sub: "buyer-3")
        let referral = try await cy.request(["type": "referral", "id": "r", "code": "shoe5"])
        #expect(referral["type"] == "referral")
        #expect(referral["code"] == "SHOE5")
        let ticket = try #require(referral["ticket"]?.stringValue)
        #expect((referral["expires_at"]?.intValue ?? 0) > server.gateway.streams.now)
        let third = try await cy.request(Self.checkout(key: "k3", attribution: ["referral": .string(ticket)], items: [("tee", 1, 1_000), ("shoe", 2, 2_500)]))
        #expect(third["attribution"] == ["codes": ["HOST3", "SHOE5"]])
        let thirdID = try #require(third["checkout_id"]?.stringValue)
        // The same key again: the same answer, attribution included.
        let replay = try await cy.request(Self.checkout(key: "k3", attribution: [:], items: [("tee", 1, 1_000), ("shoe", 2, 2_500)]))
        #expect(replay["replayed"] == true)
        #expect(replay["attribution"] == third["attribution"])

        // Each merchant's order carries each of its lines' code, influencer and commission.
        try await m1.waitForOrders(atLeast: 3)
        try await m2.waitForOrders(atLeast: 2)
        #expect(try Self.line(m1, firstID, merchant: "m1", product: "tee")["attribution"] == ["code": "ANNA10", "influencer": "anna", "commission": 200, "source": "code"])
        #expect(try Self.line(m2, firstID, merchant: "m2", product: "shoe")["attribution"] == ["code": "ANNA10", "influencer": "anna", "commission": 250, "source": "code"])
        #expect(try Self.line(m1, secondID, merchant: "m1", product: "tee")["attribution"] == ["code": "HOST3", "influencer": "host", "commission": 30, "source": "host"])
        #expect(try Self.line(m1, thirdID, merchant: "m1", product: "tee")["attribution"] == ["code": "HOST3", "influencer": "host", "commission": 30, "source": "host"])
        #expect(try Self.line(m2, thirdID, merchant: "m2", product: "shoe")["attribution"] == ["code": "SHOE5", "influencer": "bob", "commission": 250, "source": "referral"])
        // The buyer's claim goes along as sent.
        #expect(m1.orders["\(secondID):m1"]?.body["attribution"] == ["code": "I-MADE-THIS-UP"])

        // The host's insights count credited codes only.
        let hostToken = try await server.token(.host, streams: ["live"], sub: "host")
        let insights = try await HTTP.request("GET", port: server.port, path: "/v1/streams/live/insights", headers: ["Authorization": "Bearer \(hostToken)"])
        let byCode = (insights.json?["checkouts"] as? [String: Any])?["by_attribution_code"] as? [[String: Any]] ?? []
        #expect(Dictionary(uniqueKeysWithValues: byCode.map { ($0["code"] as? String ?? "", $0["checkouts"] as? Int ?? 0) }) == ["ANNA10": 1, "HOST3": 2, "SHOE5": 1])

        // What each influencer earned, once the merchants confirmed: Anna 10 % of 4,500,
        // the host 3 % of two tees, Bob 5 % of two pairs of shoes. Theirs alone to read.
        let anna = try await server.token(.affiliate, streams: [], sub: "anna")
        let earned = try await Self.confirmedEarnings(server, of: "anna", token: anna, commission: 450)
        #expect(
            earned["totals"] == [
                [
                    "currency": "EUR", "units": 3, "revenue": 4_500, "commission": 450, "pending_revenue": 0, "pending_commission": 0, "failed_revenue": 0, "failed_commission": 0, "returned_units": 0,
                    "returned_revenue": 0, "returned_commission": 0,
                ]
            ])
        #expect(earned["codes"] == [["stream": "live", "code": "ANNA10", "visits": 0, "add_to_cart": 0, "checkouts": 1, "confirmed_orders": 2, "failed_orders": 0]])
        #expect(earned["products"]?.arrayValue?.map { $0["product"] } == ["shoe", "tee"])
        #expect(earned["timeline"]?.arrayValue?.count == 1)
        _ = try await Self.confirmedEarnings(server, of: "host", token: hostToken, commission: 60)
        let bobToken = try await server.token(.affiliate, streams: [], sub: "bob")
        _ = try await Self.confirmedEarnings(server, of: "bob", token: bobToken, commission: 250)
        let forbidden = try await HTTP.request("GET", port: server.port, path: "/v1/affiliates/anna/earnings", headers: ["Authorization": "Bearer \(bobToken)"])
        #expect(forbidden.status == 403)
        _ = try await Self.confirmedEarnings(server, of: "anna", token: admin, commission: 450)
        let bad = try await HTTP.request("GET", port: server.port, path: "/v1/affiliates/anna/earnings?bucket_ms=5", headers: ["Authorization": "Bearer \(anna)"])
        #expect(bad.errorCode == "bad_request")
        let none = try await HTTP.request("GET", port: server.port, path: "/v1/affiliates/anna/earnings?until=1", headers: ["Authorization": "Bearer \(anna)"])
        #expect(none.json?["totals"] as? [Any] != nil && (none.json?["totals"] as? [Any])?.isEmpty == true)

        for client in [host, ana, ben, cy] { await client.close() }
        await server.stop()
        await m1.stop()
        await m2.stop()
    }

    /// The earnings of `influencer` once `commission` of them is confirmed (the webhooks
    /// answer after the buyers hear "accepted").
    private static func confirmedEarnings(_ server: TestGateway, of influencer: String, token: String, commission: Int64) async throws -> JSONValue {
        var last: JSONValue = .null
        for _ in 0..<500 {
            let response = try await HTTP.request(
                "GET", port: server.port, path: "/v1/affiliates/\(influencer)/earnings", headers: ["Authorization": "Bearer \(token)"])
            try #require(response.status == 200, "\(response.status): \(response.body)")
            last = try JSONParser.parse(ByteBuffer(string: response.body))
            if last["totals"]?.arrayValue?.first?["commission"] == .int(commission), last["totals"]?.arrayValue?.first?["pending_commission"] == 0 {
                return last
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("\(influencer) never had \(commission) confirmed: \(last)")
        return last
    }

    @Test func theCodeAPIChecksWhoAsksAndWhatTheySend() async throws {
        let server = try await TestGateway.start()
        let admin = try await server.token(.admin, streams: [], sub: "ops")
        let m1 = try await server.token(.orderService, streams: [], sub: "m1-svc", merchant: "m1")
        let m2 = try await server.token(.orderService, streams: [], sub: "m2-svc", merchant: "m2")
        let viewer = try await server.token(.viewer, streams: ["live"], sub: "v")
        func request(_ method: String, _ path: String, _ token: String?, _ body: String? = nil) async throws -> HTTP.Response {
            try await HTTP.request(method, port: server.port, path: path, headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:], body: body)
        }
        let good = #"{"owner":"anna","commission_bps":800}"#
        #expect(try await request("PUT", "/v1/affiliate-codes/anna8", nil, good).status == 401)
        #expect(try await request("PUT", "/v1/affiliate-codes/anna8", viewer, good).errorCode == "forbidden")
        #expect(try await request("PUT", "/v1/affiliate-codes/a", admin, good).errorCode == "bad_request")
        #expect(try await request("PUT", "/v1/affiliate-codes/anna8", admin, #"{"owner":"anna","commission_bps":20000}"#).errorCode == "bad_request")
        #expect(try await request("PUT", "/v1/affiliate-codes/anna8", admin, #"{"owner":"anna","commission_bps":1,"typo":1}"#).errorCode == "bad_request")
        #expect(try await request("PUT", "/v1/affiliate-codes/anna8", m1, #"{"owner":"anna","commission_bps":1,"merchants":["m2"]}"#).errorCode == "bad_request")
        #expect(try await request("PUT", "/v1/affiliate-codes/anna8", admin, "not json").errorCode == "bad_request")
        #expect(try await request("POST", "/v1/affiliate-codes/anna8", admin, good).status == 405)
        #expect(try await request("GET", "/v1/affiliate-codes/x", admin).errorCode == "bad_request")
        #expect(try await request("DELETE", "/v1/affiliate-codes/x", admin).errorCode == "bad_request")
        #expect(try await request("GET", "/v1/affiliate-codes?after=x!", admin).errorCode == "bad_request")

        // m1 registers it; m2 may neither take it over nor see it; the admin may change it.
        #expect(try await request("PUT", "/v1/affiliate-codes/anna8", m1, good).status == 201)
        #expect(try await request("PUT", "/v1/affiliate-codes/ANNA8", m1, #"{"owner":"anna","commission_bps":900}"#).status == 200)
        let taken = try await request("PUT", "/v1/affiliate-codes/anna8", m2, good)
        #expect(taken.status == 409)
        #expect(taken.errorCode == "code_taken")
        #expect(try await request("GET", "/v1/affiliate-codes/anna8", m2).status == 404)
        #expect(try await request("DELETE", "/v1/affiliate-codes/anna8", m2).status == 404)
        let read = try await request("GET", "/v1/affiliate-codes/anna8", admin)
        #expect(read.json?["commission_bps"] as? Int == 900)
        #expect(read.json?["merchants"] as? [String] == ["m1"])
        #expect(((try await request("GET", "/v1/affiliate-codes", m2).json?["codes"]) as? [Any])?.isEmpty == true)
        #expect(((try await request("GET", "/v1/affiliate-codes?owner=anna", m1).json?["codes"]) as? [[String: Any]])?.map { $0["code"] as? String } == ["ANNA8"])

        // Revoked: no referral, and a checkout naming it is told why it was not credited.
        try await server.catalog("live", ["p1"])
        _ = try await server.publish("live", "product.pinned", ["product": "p1"])
        let buyer = try await server.client(.viewer, streams: ["live"], sub: "b")
        #expect(try await buyer.request(["type": "referral", "id": "r1", "code": "anna8"])["type"] == "referral")
        let revoked = try await request("DELETE", "/v1/affiliate-codes/anna8", m1)
        #expect(revoked.status == 200)
        #expect(revoked.json?["revoked_at"] is Int)
        #expect(try await buyer.request(["type": "referral", "id": "r2", "code": "anna8"])["code"] == "code_not_active")
        #expect(try await buyer.request(["type": "referral", "id": "r3", "code": "nobody"])["code"] == "unknown_code")
        let accepted = try await buyer.request(Self.checkout(key: "k", attribution: ["code": "anna8"], items: [("p1", 1, 1_000)]))
        #expect(accepted["type"] == "checkout.accepted")
        #expect(accepted["attribution"] == ["codes": [], "declined": ["code": "ANNA8", "reason": "code_not_active"]])
        await buyer.close()
        await server.stop()
    }
}
