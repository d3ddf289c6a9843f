import Foundation
import HawkerAuth
import HawkerClient
import HawkerHub
import HawkerProtocol
import HawkerServer
import NIOCore
import Testing

/// The HTTP side: operations endpoints, the publish/read API and refused upgrades.
@Suite struct HTTPAPITests {
    @Test func healthReadinessAndMetrics() async throws {
        let server = try await TestGateway.start()
        let health = try await HTTP.request("GET", port: server.port, path: "/healthz")
        #expect(health.status == 200)
        #expect(health.json?["status"] as? String == "ok")
        #expect(try await HTTP.request("GET", port: server.port, path: "/readyz").status == 200)
        let viewer = try await server.client(.viewer, streams: ["m"])
        // Checkout volume and dead letters are for operators: an admin token.
        #expect(try await HTTP.request("GET", port: server.port, path: "/metrics").status == 401)
        let viewerToken = try await server.token(.viewer, streams: ["m"])
        #expect(try await HTTP.request("GET", port: server.port, path: "/metrics", headers: ["Authorization": "Bearer \(viewerToken)"]).status == 403)
        let admin = try await server.token(.admin, streams: ["*"], sub: "ops")
        let metrics = try await HTTP.request("GET", port: server.port, path: "/metrics", headers: ["Authorization": "bearer \(admin)"])
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("hawker_connections 1"))
        #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
        await viewer.close()
        #expect(try await HTTP.request("GET", port: server.port, path: "/nowhere").status == 404)
        await server.stop()
    }

    /// A stream that retires leaves memory but stays readable, archived, until its
    /// archive retention; publishing to its id again starts a new stream.
    @Test func aRetiredStreamIsArchivedAndStillReadable() async throws {
        let server = try await TestGateway.start { configuration in
            configuration.hub.streamRetentionMilliseconds = 1
            configuration.hub.historyMaxAgeMilliseconds = 1_000
        }
        let host = try await server.token(.host, streams: ["gone"])
        let auth = ["Authorization": "Bearer \(host)"]
        let catalog = #"{"kind":"catalog.set","data":{"products":[{"id":"p1","title":"Tea","merchant":"m1","price":2499,"currency":"EUR"}]}}"#
        let created = try await HTTP.request("POST", port: server.port, path: "/v1/streams/gone/events", headers: auth, body: catalog)
        #expect(created.status == 201)
        let epoch = try #require(created.json?["epoch"] as? String)
        // The history sweep (every second here) retires it: no subscriber, no sale.
        var archived: HTTP.Response?
        for _ in 0..<100 {
            let response = try await HTTP.request("GET", port: server.port, path: "/v1/streams/gone", headers: auth)
            if response.json?["archived_at"] != nil {
                archived = response
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let state = try #require(archived, "the stream was not archived")
        #expect(state.status == 200)
        #expect(state.json?["epoch"] as? String == epoch && state.json?["seq"] as? Int == 1)
        let products = (state.json?["state"] as? [String: Any])?["catalog"] as? [[String: Any]]
        #expect(products?.first?["id"] as? String == "p1")
        #expect(try await HTTP.request("GET", port: server.port, path: "/v1/streams/gone/insights", headers: auth).status == 200)
        // Its id starts over.
        let again = try await HTTP.request("POST", port: server.port, path: "/v1/streams/gone/events", headers: auth, body: catalog)
        #expect(again.status == 201 && again.json?["seq"] as? Int == 1 && again.json?["epoch"] as? String != epoch)
        await server.stop()
    }

    @Test func publishAndReadOverHTTP() async throws {
        let server = try await TestGateway.start()
        let host = try await server.token(.host, streams: ["h1"])
        let viewer = try await server.token(.viewer, streams: ["h1"])
        let catalog = #"{"kind":"catalog.set","data":{"products":[{"id":"p1","title":"Tea","merchant":"m1","price":2499,"currency":"EUR"}]}}"#
        let event = #"{"kind":"price.changed","data":{"product":"p1","price":1999,"currency":"EUR"}}"#

        let unknownProduct = try await HTTP.request("POST", port: server.port, path: "/v1/streams/h1/events", headers: ["Authorization": "Bearer \(host)"], body: event)
        #expect(unknownProduct.status == 422)
        #expect(unknownProduct.errorCode == "unknown_product")

        let first = try await HTTP.request("POST", port: server.port, path: "/v1/streams/h1/events", headers: ["Authorization": "Bearer \(host)"], body: catalog)
        #expect(first.status == 201)
        let created = try await HTTP.request("POST", port: server.port, path: "/v1/streams/h1/events", headers: ["Authorization": "Bearer \(host)"], body: event)
        #expect(created.status == 201)
        #expect(created.json?["seq"] as? Int == 2)
        #expect(created.json?["stream"] as? String == "h1")

        let state = try await HTTP.request("GET", port: server.port, path: "/v1/streams/h1", headers: ["Authorization": "Bearer \(viewer)"])
        #expect(state.status == 200)
        let products = (state.json?["state"] as? [String: Any])?["catalog"] as? [[String: Any]]
        #expect(products?.count == 1)
        #expect(products?.first?["price"] as? Int == 1999)
        #expect(products?.first?["previous_price"] as? Int == 2499)

        let pins = #"{"kind":"product.pinned","data":{"product":"p1"}}"#
        for _ in 0..<2 {
            #expect(try await HTTP.request("POST", port: server.port, path: "/v1/streams/h1/events", headers: ["Authorization": "Bearer \(host)"], body: pins).status == 201)
        }

        let insights = try await HTTP.request("GET", port: server.port, path: "/v1/streams/h1/insights", headers: ["Authorization": "Bearer \(host)"])
        #expect(insights.status == 200)
        #expect(insights.json?["stream"] as? String == "h1")
        #expect((insights.json?["viewers"] as? [String: Any])?["peak"] as? Int == 0)
        let notForViewers = try await HTTP.request("GET", port: server.port, path: "/v1/streams/h1/insights", headers: ["Authorization": "Bearer \(viewer)"])
        #expect(notForViewers.status == 403)

        let forbidden = try await HTTP.request("POST", port: server.port, path: "/v1/streams/h1/events", headers: ["Authorization": "Bearer \(viewer)"], body: event)
        #expect(forbidden.status == 403)
        #expect(forbidden.errorCode == "forbidden")

        let anonymous = try await HTTP.request("POST", port: server.port, path: "/v1/streams/h1/events", body: event)
        #expect(anonymous.status == 401)
        #expect(anonymous.errorCode == "unauthorized")

        let unknown = try await HTTP.request("POST", port: server.port, path: "/v1/streams/h1/events", headers: ["Authorization": "Bearer \(host)"], body: #"{"kind":"confetti","data":{}}"#)
        #expect(unknown.status == 400)
        #expect(unknown.errorCode == "unknown_event_kind")

        let invalid = try await HTTP.request(
            "POST", port: server.port, path: "/v1/streams/h1/events", headers: ["Authorization": "Bearer \(host)"], body: #"{"kind":"stock.changed","data":{"product":"p1","level":-1}}"#)
        #expect(invalid.errorCode == "invalid_event")

        let malformed = try await HTTP.request("POST", port: server.port, path: "/v1/streams/h1/events", headers: ["Authorization": "Bearer \(host)"], body: "{nope")
        #expect(malformed.errorCode == "bad_request")

        let missing = try await HTTP.request("GET", port: server.port, path: "/v1/streams/absent", headers: ["Authorization": "Bearer \(try await server.token(.viewer, streams: ["*"]))"])
        #expect(missing.status == 404)
        #expect(missing.errorCode == "stream_not_found")

        let badID = try await HTTP.request("GET", port: server.port, path: "/v1/streams/bad!id", headers: ["Authorization": "Bearer \(viewer)"])
        #expect(badID.errorCode == "invalid_stream")

        let tooLarge = try await HTTP.request(
            "POST", port: server.port, path: "/v1/streams/h1/events", headers: ["Authorization": "Bearer \(host)"], body: String(repeating: " ", count: 70_000) + event)
        #expect(tooLarge.status == 413)
        await server.stop()
    }

    @Test func eventsPublishedOverHTTPReachWebSocketViewers() async throws {
        let server = try await TestGateway.start()
        _ = try await server.publish("h2", "stream.started", [:])
        let viewer = try await server.client(.viewer, streams: ["h2"])
        try await viewer.send(["type": "subscribe", "id": "s", "stream": "h2"])
        _ = try await viewer.receive()
        let host = try await server.token(.host, streams: ["h2"])
        _ = try await HTTP.request(
            "POST", port: server.port, path: "/v1/streams/h2/events", headers: ["Authorization": "Bearer \(host)"], body: #"{"kind":"announcement","data":{"text":"Flash sale in 5 minutes"}}"#)
        let event = try await viewer.receive()
        #expect(event["kind"] == "announcement")
        #expect(event["data"]?.objectValue?["text"] == "Flash sale in 5 minutes")
        await viewer.close()
        await server.stop()
    }

    @Test func upgradesAreCheckedForSubprotocolOriginAndPath() async throws {
        let server = try await TestGateway.start { $0.allowedOrigins = ["https://shop.example"] }
        var noSubprotocol = WebSocketClient.Options()
        noSubprotocol.subprotocol = nil
        await #expect(throws: WebSocketClient.ClientError.upgradeRefused) {
            _ = try await server.open(noSubprotocol)
        }
        var foreign = WebSocketClient.Options()
        foreign.origin = "https://evil.example"
        await #expect(throws: WebSocketClient.ClientError.upgradeRefused) {
            _ = try await server.open(foreign)
        }
        var allowed = WebSocketClient.Options()
        allowed.origin = "https://shop.example"
        let client = try await server.open(allowed)
        await client.close()
        var echo = WebSocketClient.Options()
        echo.path = "/echo"
        await #expect(throws: WebSocketClient.ClientError.upgradeRefused) {
            _ = try await server.open(echo)
        }

        func upgrade(_ extra: String) -> String {
            """
            GET /ws HTTP/1.1
            Host: 127.0.0.1
            Connection: Upgrade
            Upgrade: websocket
            Sec-WebSocket-Version: 13
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
            \(extra)


            """
        }
        let refusedOrigin = try await RawHTTP.exchange(port: server.port, upgrade("Origin: https://evil.example\nSec-WebSocket-Protocol: hawker.v1"))
        #expect(refusedOrigin.status == 403)
        #expect(refusedOrigin.body.contains("origin_not_allowed"))
        let refusedProtocol = try await RawHTTP.exchange(port: server.port, upgrade("X-Nothing: 1"))
        #expect(refusedProtocol.status == 400)
        #expect(refusedProtocol.body.contains("subprotocol_required"))
        #expect(try await HTTP.request("GET", port: server.port, path: "/ws").status == 426)
        await server.stop()
    }
}
