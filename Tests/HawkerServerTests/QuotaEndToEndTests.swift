import Foundation
import HawkerAuth
import HawkerProtocol
import HawkerServer
import Testing

/// Per-user quotas over real sockets: one user (a token `sub`) spreading its traffic
/// over connections and streams still meets one limit.
@Suite struct QuotaEndToEndTests {
    @Test func connectionsPerUserAreBoundedWith4503() async throws {
        let server = try await TestGateway.start { $0.quotas.connections = 2 }
        let first = try await server.client(.viewer, streams: ["q"], sub: "ana")
        let second = try await server.client(.viewer, streams: ["q"], sub: "ana")
        let third = try await server.open()
        try await third.send(["type": "connect", "id": "c", "token": .string(try await server.token(.viewer, streams: ["q"], sub: "ana"))])
        let refused = try await third.receive()
        #expect(refused["code"] == "quota_exceeded")
        #expect(refused["re"] == "c")
        #expect(try await third.closeCode() == 4503)
        // Another user is apart; and a closed connection gives its place back.
        let ben = try await server.client(.viewer, streams: ["q"], sub: "ben")
        await first.close()
        var again: TestClient?
        for _ in 0..<100 where again == nil {
            let attempt = try await server.open()
            try await attempt.send(["type": "connect", "id": "c", "token": .string(try await server.token(.viewer, streams: ["q"], sub: "ana"))])
            if try await attempt.receive()["type"] == "welcome" { again = attempt } else { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(again != nil, "the closed connection's place came back")
        for client in [second, ben] { await client.close() }
        await again?.close()
        await server.stop()
    }

    @Test func subscriptionsPerUserCountOverAllItsConnections() async throws {
        let server = try await TestGateway.start { $0.quotas.subscriptions = 3 }
        for name in ["s1", "s2", "s3", "s4"] { _ = try await server.publish(name, "stream.started", [:]) }
        let first = try await server.client(.viewer, streams: ["*"], sub: "ana")
        let second = try await server.client(.viewer, streams: ["*"], sub: "ana")
        #expect(try await first.request(["type": "subscribe", "id": "1", "stream": "s1"])["type"] == "subscribed")
        #expect(try await first.request(["type": "subscribe", "id": "2", "stream": "s2"])["type"] == "subscribed")
        #expect(try await second.request(["type": "subscribe", "id": "3", "stream": "s3"])["type"] == "subscribed")
        let refused = try await second.request(["type": "subscribe", "id": "4", "stream": "s4"])
        #expect(refused["code"] == "quota_exceeded")
        // A refused subscribe leaves no trace: unsubscribing gives one back, and it can go again.
        #expect(try await first.request(["type": "unsubscribe", "id": "5", "stream": "s1"])["type"] == "unsubscribed")
        #expect(try await second.request(["type": "subscribe", "id": "6", "stream": "s4"])["type"] == "subscribed")
        // A closed connection gives back all of its subscriptions.
        await first.close()
        var subscribed = false
        for attempt in 0..<100 where !subscribed {
            let reply = try await second.request(["type": "subscribe", "id": .string("s\(attempt)"), "stream": "s1"])
            subscribed = reply["type"] == "subscribed"
            if !subscribed { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(subscribed)
        await second.close()
        await server.stop()
    }

    @Test func streamsAUserCreatesAreBoundedOverWebSocketAndHTTP() async throws {
        let server = try await TestGateway.start { $0.quotas.streams = 1 }
        let host = try await server.client(.host, streams: ["*"], sub: "host-h")
        let first = try await host.request(["type": "publish", "id": "1", "stream": "h1", "event": ["kind": "stream.started", "data": [:]]])
        #expect(first["type"] == "published")
        let second = try await host.request(["type": "publish", "id": "2", "stream": "h2", "event": ["kind": "stream.started", "data": [:]]])
        #expect(second["code"] == "quota_exceeded")
        // Publishing to the stream it has is free.
        #expect(try await host.request(["type": "publish", "id": "3", "stream": "h1", "event": ["kind": "announcement", "data": ["text": "hi"]]])["type"] == "published")
        let token = try await server.token(.host, streams: ["*"], sub: "host-h")
        let overHTTP = try await HTTP.request(
            "POST", port: server.port, path: "/v1/streams/h3/events", headers: ["Authorization": "Bearer \(token)"], body: #"{"kind":"stream.started"}"#
        )
        #expect(overHTTP.status == 429)
        #expect(overHTTP.errorCode == "quota_exceeded")
        // Operators create streams for others: no quota.
        let admin = try await server.client(.admin, streams: ["*"], sub: "ops")
        for name in ["a1", "a2", "a3"] {
            #expect(try await admin.request(["type": "publish", "id": .string(name), "stream": .string(name), "event": ["kind": "stream.started", "data": [:]]])["type"] == "published")
        }
        for client in [host, admin] { await client.close() }
        await server.stop()
    }

    /// 911 chat messages a second spread over streams used to pass every per-stream
    /// limit; the per-user rate counts them all.
    @Test func chatIsRateLimitedPerUserOverAllStreams() async throws {
        let server = try await TestGateway.start {
            $0.quotas.chatPerMinute = 1
            $0.quotas.chatBurst = 3
        }
        for name in ["c1", "c2", "c3", "c4"] { _ = try await server.publish(name, "stream.started", [:]) }
        let chatter = try await server.client(.viewer, streams: ["*"], sub: "chatter")
        for name in ["c1", "c2", "c3"] {
            #expect(try await chatter.request(["type": "chat.send", "id": .string(name), "stream": .string(name), "text": "hello"])["type"] == "chat.accepted")
        }
        let limited = try await chatter.request(["type": "chat.send", "id": "c4", "stream": "c4", "text": "hello"])
        #expect(limited["code"] == "rate_limited")
        #expect((limited["retry_after_ms"]?.intValue ?? 0) > 0)
        let question = try await chatter.request(["type": "question.ask", "id": "q", "stream": "c4", "text": "Does it come in blue?"])
        #expect(question["code"] == "rate_limited", "questions are text too")
        await chatter.close()
        await server.stop()
    }

    @Test func checkoutsAreRateLimitedPerBuyer() async throws {
        let server = try await TestGateway.start {
            $0.quotas.checkoutsPerMinute = 1
            $0.quotas.checkoutBurst = 2
        }
        try await server.catalog("shop", ["p1"], stock: 100)
        _ = try await server.publish("shop", "product.pinned", ["product": "p1"])
        let buyer = try await server.client(.viewer, streams: ["shop"], sub: "buyer")
        func checkout(_ key: String) -> [String: JSONValue] {
            ["type": "checkout", "id": .string(key), "stream": "shop", "items": [["product": "p1", "qty": 1, "price_seen": 1_000]], "region": "DE", "idempotency_key": .string(key)]
        }
        #expect(try await buyer.request(checkout("k1"))["type"] == "checkout.accepted")
        #expect(try await buyer.request(checkout("k2"))["type"] == "checkout.accepted")
        let limited = try await buyer.request(checkout("k3"))
        #expect(limited["code"] == "rate_limited")
        #expect((limited["retry_after_ms"]?.intValue ?? 0) > 0)
        await buyer.close()
        await server.stop()
    }

    @Test func httpRequestsAreRateLimitedPerUserOverConnections() async throws {
        let server = try await TestGateway.start {
            // One a minute: nothing refills while the test runs, however slowly.
            $0.quotas.httpRequestsPerSecond = 1.0 / 60
            $0.quotas.httpRequestBurst = 3
        }
        _ = try await server.publish("h", "stream.started", [:])
        let token = try await server.token(.viewer, streams: ["h"], sub: "reader")
        // Each request on its own connection: the per-connection limit never applies.
        for _ in 0..<3 {
            #expect(try await RawHTTP.exchange(port: server.port, "GET /v1/streams/h HTTP/1.1\nHost: x\nAuthorization: Bearer \(token)\nConnection: close\n\n").status == 200)
        }
        let limited = try await RawHTTP.exchange(port: server.port, "GET /v1/streams/h HTTP/1.1\nHost: x\nAuthorization: Bearer \(token)\nConnection: close\n\n")
        #expect(limited.status == 429)
        #expect(limited.header("Retry-After") != nil)
        let other = try await server.token(.viewer, streams: ["h"], sub: "other")
        #expect(try await RawHTTP.exchange(port: server.port, "GET /v1/streams/h HTTP/1.1\nHost: x\nAuthorization: Bearer \(other)\nConnection: close\n\n").status == 200)
        await server.stop()
    }
}
