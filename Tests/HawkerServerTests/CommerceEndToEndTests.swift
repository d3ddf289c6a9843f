import Foundation
import HawkerAuth
import HawkerCommerce
import HawkerHub
import HawkerProtocol
import HawkerServer
import Testing

/// A live sale over real sockets: catalog, pins, price drop, flash sale, chat, moderation,
/// questions and intents, as hosts and viewers see them.
@Suite struct CommerceEndToEndTests {
    /// Sends a command and returns its reply, skipping pushes that arrive meanwhile.

    private func publish(_ host: TestClient, _ stream: String, _ kind: String, _ data: [String: JSONValue]) async throws -> [String: JSONValue] {
        try await host.request(["type": "publish", "id": "p", "stream": .string(stream), "event": ["kind": .string(kind), "data": .object(data)]])
    }

    private func subscribe(_ client: TestClient, _ stream: String) async throws -> [String: JSONValue] {
        let reply = try await client.request(["type": "subscribe", "id": "s", "stream": .string(stream)])
        #expect(reply["type"] == "subscribed")
        return reply
    }

    @Test func aViewerJoiningMidSaleGetsTheStateWithTheCountdown() async throws {
        let server = try await TestGateway.start()
        let host = try await server.client(.host, streams: ["live"], sub: "host")
        let products: JSONValue = [
            ["id": "jacket", "title": "Waxed jacket", "merchant": "northwind", "price": 12_900, "currency": "EUR", "stock": 40, "variants": [["id": "m", "title": "M"]]],
            ["id": "boots", "title": "Chelsea boots", "merchant": "cobbler", "price": 9_900, "currency": "EUR", "stock": 8, "regions": ["DE", "AT"]],
        ]
        #expect(try await publish(host, "live", "catalog.set", ["products": products])["type"] == "published")
        #expect(try await publish(host, "live", "stream.started", ["title": "Autumn drop"])["type"] == "published")
        #expect(try await publish(host, "live", "product.pinned", ["product": "jacket"])["type"] == "published")
        let drop = try await publish(host, "live", "price.changed", ["product": "jacket", "price": 9_900])
        #expect(drop["type"] == "published")
        let sale = try await publish(
            host, "live", "sale.started",
            [
                "sale": "flash-1", "items": [["product": "boots", "price": 6_900]], "duration_ms": 600_000, "per_buyer_limit": 1,
            ])
        #expect(sale["type"] == "published")

        let viewer = try await server.client(.viewer, streams: ["live"], sub: "late")
        let subscribed = try await subscribe(viewer, "live")
        let state = try #require(subscribed["state"])
        #expect(state["stream"]?["status"] == "live")
        #expect(state["pinned"] == ["jacket"])
        let jacket = try #require(state["catalog"]?.arrayValue?.first { $0["id"] == "jacket" })
        #expect(jacket["price"] == 9_900)
        #expect(jacket["previous_price"] == 12_900)
        let flash = try #require(state["sales"]?.arrayValue?.first)
        #expect(flash["sale"] == "flash-1")
        #expect(flash["status"] == "active")
        let endsAt = try #require(flash["ends_at"]?.intValue)
        let serverTime = try #require(state["server_time"]?.intValue)
        let remaining = try #require(flash["remaining_ms"]?.intValue)
        // The countdown is consistent with the server time it was computed at.
        #expect(remaining == endsAt - serverTime)
        #expect(remaining > 0 && remaining <= 600_000)
        #expect(flash["items"]?.arrayValue?.first?["regular_price"] == 9_900)

        // Live: the host ends the sale; the viewer sees it with its reason.
        #expect(try await publish(host, "live", "sale.ended", ["sale": "flash-1"])["type"] == "published")
        let ended = try await viewer.receive()
        #expect(ended["kind"] == "sale.ended")
        #expect(ended["data"]?["reason"] == "host")

        // A pin of a product not in the catalog is refused with its own code.
        let refused = try await publish(host, "live", "product.pinned", ["product": "ghost"])
        #expect(refused["code"] == "unknown_product")
        await viewer.close()
        await host.close()
        await server.stop()
    }

    @Test func chatArrivesInBatchesAndAModeratorsBanTakesEffect() async throws {
        let server = try await TestGateway.start()
        try await server.catalog("chat", ["p1"])
        let alice = try await server.client(.viewer, streams: ["chat"], sub: "alice", name: "Alice")
        let bob = try await server.client(.viewer, streams: ["chat"], sub: "bob")
        let moderator = try await server.client(.moderator, streams: ["chat"], sub: "mod")
        for client in [alice, bob, moderator] { _ = try await subscribe(client, "chat") }

        let accepted = try await alice.request(["type": "chat.send", "id": "m1", "stream": "chat", "text": "love the colour"])
        #expect(accepted["type"] == "chat.accepted")
        #expect(accepted["re"] == "m1")
        let sent = try #require(accepted["message"])
        #expect(sent["name"] == "Alice")
        let batch = try await bob.next("chat")
        #expect(batch["messages"]?.arrayValue?.map { $0["id"] } == [sent["id"]])

        let banned = try await moderator.request(["type": "moderate", "id": "b1", "stream": "chat", "action": "ban_user", "user": "bob"])
        #expect(banned == ["type": "moderated", "re": "b1", "action": "ban_user"])
        let refused = try await bob.request(["type": "chat.send", "id": "m2", "stream": "chat", "text": "rude words"])
        #expect(refused["code"] == "banned")
        #expect(refused["re"] == "m2")

        // A viewer may not moderate; nobody else notices the attempt.
        let forbidden = try await alice.request(["type": "moderate", "id": "b2", "stream": "chat", "action": "ban_user", "user": "mod"])
        #expect(forbidden["code"] == "forbidden")
        _ = try await moderator.request(["type": "chat.send", "id": "m3", "stream": "chat", "text": "welcome everyone"])
        let next = try await alice.next("chat")
        #expect(next["messages"]?.arrayValue?.map { $0["text"] } == ["welcome everyone"])
        #expect(next["messages"]?.arrayValue?.first?["role"] == "moderator")
        for client in [alice, bob, moderator] { await client.close() }
        await server.stop()
    }

    @Test func twoViewersAskingInDifferentWordsReachTheHostAsOneQuestion() async throws {
        let server = try await TestGateway.start()
        try await server.catalog("qa", ["coat"])
        let host = try await server.client(.host, streams: ["qa"], sub: "host")
        _ = try await subscribe(host, "qa")
        let first = try await server.client(.viewer, streams: ["qa"], sub: "v1")
        let second = try await server.client(.viewer, streams: ["qa"], sub: "v2")
        let asked = try await first.request(["type": "question.ask", "id": "q", "stream": "qa", "text": "Is the lining strong?"])
        #expect(asked["merged"] == false)
        let merged = try await second.request(["type": "chat.send", "id": "c", "stream": "qa", "text": "how strong is the lining"])
        #expect(merged["type"] == "chat.accepted")

        var top: [JSONValue] = []
        while top.first?["askers"] != 2 {
            top = try #require(try await host.next("questions.top")["questions"]?.arrayValue)
        }
        #expect(top.count == 1)
        #expect(top.first?["text"] == "Is the lining strong?")
        let id = try #require(top.first?["id"])

        let (answer, event) = try await host.request(
            ["type": "question.answer", "id": "a", "stream": "qa", "question": id, "answer": "Yes, double-stitched"], alsoAwaiting: "event"
        )
        #expect(answer["type"] == "published")
        #expect(event["kind"] == "question.answered")
        #expect(event["data"]?["text"] == "Is the lining strong?")
        #expect(event["data"]?["askers"] == 2)
        for client in [host, first, second] { await client.close() }
        await server.stop()
    }

    @Test func intentsReachTheHostAsCountersAndBadOnesAreRefused() async throws {
        let server = try await TestGateway.start()
        try await server.catalog("buy", ["mug"])
        let host = try await server.client(.host, streams: ["buy"], sub: "host")
        _ = try await subscribe(host, "buy")
        for user in ["a", "b", "c"] {
            let viewer = try await server.client(.viewer, streams: ["buy"], sub: user)
            let recorded = try await viewer.request(["type": "intent", "id": "i", "stream": "buy", "product": "mug", "action": "add_to_cart"])
            #expect(recorded == ["type": "intent.recorded", "re": "i"])
            let unknown = try await viewer.request(["type": "intent", "id": "j", "stream": "buy", "product": "teapot", "action": "view"])
            #expect(unknown["code"] == "unknown_product")
            await viewer.close()
        }
        var adds: JSONValue?
        while adds != 3 {
            let summary = try await host.next("intents.summary")
            adds = summary["products"]?.arrayValue?.first?["cart_users_last_minute"]
        }
        let insights = try await HTTP.request("GET", port: server.port, path: "/v1/streams/buy/insights", headers: ["Authorization": "Bearer \(try await server.token(.host, streams: ["buy"]))"])
        let intents = insights.json?["intents"] as? [[String: Any]]
        #expect(intents?.first?["add_to_cart"] as? Int == 3)
        await host.close()
        await server.stop()
    }

    @Test func chatLimitsAnswerWithTheirOwnCodes() async throws {
        let server = try await TestGateway.start {
            $0.hub.room.chat.maxLength = 50
            $0.hub.room.chat.bannedWords = ["scam"]
        }
        try await server.catalog("limits", ["p"])
        let viewer = try await server.client(.viewer, streams: ["limits"], sub: "chatty")
        let otherHost = try await server.client(.host, streams: ["elsewhere"], sub: "other-host")
        func chat(_ text: String, id: String = "x") async throws -> [String: JSONValue] {
            try await viewer.request(["type": "chat.send", "id": .string(id), "stream": "limits", "text": .string(text)])
        }
        #expect(try await chat(String(repeating: "a", count: 51))["code"] == "invalid_message")
        #expect(try await chat("total SCÄM")["code"] == "message_blocked")
        #expect(try await chat("look at shop.example.com/x")["message"]?["text"] == "look at [link removed]")
        // The per-user burst is 5; the next one is refused with a retry hint.
        var limited: [String: JSONValue] = [:]
        for index in 0..<6 {
            limited = try await chat("message \(index)", id: "m\(index)")
        }
        #expect(limited["code"] == "rate_limited")
        #expect((limited["retry_after_ms"]?.intValue ?? 0) > 0)
        let elsewhere = try await otherHost.request(["type": "moderate", "id": "y", "stream": "limits", "action": "slow_mode", "interval_ms": 1000])
        #expect(elsewhere["code"] == "forbidden")
        let missing = try await viewer.request(["type": "chat.send", "id": "z", "stream": "limits2", "text": "hi"])
        #expect(missing["code"] == "forbidden")
        await viewer.close()
        await otherHost.close()
        await server.stop()
    }
}
