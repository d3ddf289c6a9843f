import Foundation
import HawkerAuth
import HawkerProtocol
import HawkerServer
import Testing

/// An influencer's funnel over real sockets: viewers who arrive through Anna's link, or
/// come back with the ticket they kept, count as visits of the stream once they watch it;
/// their add-to-carts count once per product; other viewers' do not, nor a stream named
/// and not watched. Anna reads them beside her checkouts.
@Suite struct FunnelEndToEndTests {
    @Test func visitsAndAddToCartsThroughACodeCountInItsInfluencersEarnings() async throws {
        let server = try await TestGateway.start()
        let admin = try await server.token(.admin, streams: [], sub: "ops")
        let registered = try await HTTP.request(
            "PUT", port: server.port, path: "/v1/affiliate-codes/anna10", headers: ["Authorization": "Bearer \(admin)", "Content-Type": "application/json"],
            body: #"{"owner":"anna","commission_bps":1000}"#)
        #expect(registered.status == 201)
        try await server.catalog("shop", ["tee", "cap"], stock: 100)
        for product in ["tee", "cap"] { _ = try await server.publish("shop", "product.pinned", ["product": .string(product)]) }

        // Ana follows Anna's link into the shop (the visit counts once she watches it); she
        // adds the tee twice and the cap.
        let ana = try await server.client(.viewer, streams: ["shop"], sub: "ana")
        let referral = try await ana.request(["type": "referral", "id": "r", "code": "anna10", "stream": "shop"])
        #expect(referral["type"] == "referral", "\(referral)")
        let ticket = try #require(referral["ticket"]?.stringValue)
        #expect(try await ana.request(["type": "subscribe", "id": "s", "stream": "shop"])["type"] == "subscribed")
        for (index, product) in ["tee", "tee", "cap"].enumerated() {
            let added = try await ana.request(["type": "intent", "id": .string("i\(index)"), "stream": "shop", "product": .string(product), "action": "add_to_cart"])
            #expect(added["type"] == "intent.recorded", "\(added)")
        }
        // Bo comes back another day with the ticket he kept: a visit, and his add-to-cart.
        let bo = try await server.client(.viewer, streams: ["shop"], sub: "bo")
        #expect(try await bo.request(["type": "subscribe", "id": "s", "stream": "shop"])["type"] == "subscribed")
        let back = try await bo.request(["type": "referral", "id": "r", "ticket": .string(ticket), "stream": "shop"])
        #expect(back["code"] == "ANNA10" && back["ticket"] == .string(ticket), "\(back)")
        _ = try await bo.request(["type": "intent", "id": "i", "stream": "shop", "product": "tee", "action": "add_to_cart"])
        // Dee names the shop through the link but never watches it: no visit.
        let dee = try await server.client(.viewer, streams: ["shop"], sub: "dee")
        #expect(try await dee.request(["type": "referral", "id": "r", "code": "anna10", "stream": "shop"])["type"] == "referral")
        // Cy came on his own: nothing of his counts for Anna. Forged and ambiguous tickets are refused.
        let cy = try await server.client(.viewer, streams: ["shop"], sub: "cy")
        _ = try await cy.request(["type": "intent", "id": "i", "stream": "shop", "product": "tee", "action": "add_to_cart"])
        #expect(try await cy.request(["type": "referral", "id": "f", "ticket": "ANNA10.1.AAAAAAAAAAAAAAAAAAAAAA", "stream": "shop"])["code"] == "invalid_referral")
        #expect(try await cy.request(["type": "referral", "id": "b", "ticket": .string(ticket), "code": "anna10"])["code"] == "bad_request")

        // Ana buys the tee through the ticket.
        let accepted = try await ana.request([
            "type": "checkout", "id": "k", "stream": "shop", "region": "DE", "idempotency_key": "k1", "items": [["product": "tee", "qty": 1, "price_seen": 1_000]],
            "attribution": ["referral": .string(ticket)],
        ])
        #expect(accepted["type"] == "checkout.accepted", "\(accepted)")

        // Anna's earnings: 2 visits, 3 add-to-carts (the tee once for Ana, the cap, Bo's tee), 1 checkout.
        // Every reply is in: whatever was counted is, and written now (not at the next
        // second). A write the recorder had started meanwhile may finish just after.
        await server.gateway.flushFunnel()
        let anna = try await server.token(.affiliate, streams: [], sub: "anna")
        var codes: [[String: Any]] = []
        let deadline = Date().addingTimeInterval(10)
        repeat {
            let earnings = try await HTTP.request("GET", port: server.port, path: "/v1/affiliates/anna/earnings", headers: ["Authorization": "Bearer \(anna)"])
            codes = earnings.json?["codes"] as? [[String: Any]] ?? []
            if codes.first?["visits"] as? Int == 2, codes.first?["add_to_cart"] as? Int == 3 { break }
            try await Task.sleep(for: .milliseconds(20))
        } while Date() < deadline
        #expect(codes.count == 1, "\(codes)")
        #expect(codes.first?["stream"] as? String == "shop" && codes.first?["code"] as? String == "ANNA10", "\(codes)")
        #expect(codes.first?["visits"] as? Int == 2, "\(codes)")
        #expect(codes.first?["add_to_cart"] as? Int == 3, "\(codes)")
        #expect(codes.first?["checkouts"] as? Int == 1, "\(codes)")

        for client in [ana, bo, cy, dee] { await client.close() }
        await server.stop()
    }
}
