import HawkerAuth
import HawkerProtocol
import Testing

/// The SDK and the pages are served with their content type, caching headers, an ETag
/// and a Content-Security-Policy; nothing outside Web/public is reachable.
@Suite struct WebPagesTests {
    @Test func theSDKAndThePagesAreServedWithTheirHeaders() async throws {
        let server = try await TestGateway.start()
        let sdk = try await HTTP.request("GET", port: server.port, path: "/sdk/hawker.js")
        #expect(sdk.status == 200)
        #expect(sdk.headers["content-type"] == "text/javascript; charset=utf-8")
        #expect(sdk.headers["cache-control"] == "public, max-age=300")
        #expect(sdk.body.contains("export class HawkerClient"))
        let page = try await HTTP.request("GET", port: server.port, path: "/watch/demo")
        #expect(page.status == 200)
        #expect(page.headers["content-type"] == "text/html; charset=utf-8")
        #expect(page.headers["cache-control"] == "no-cache")
        #expect(page.headers["x-content-type-options"] == "nosniff")
        let policy = try #require(page.headers["content-security-policy"])
        #expect(policy.contains("script-src 'self'"))
        #expect(policy.contains("frame-ancestors 'none'"))
        #expect(page.body.contains("/static/watch.js"))
        let studio = try await HTTP.request("GET", port: server.port, path: "/studio/demo")
        #expect(studio.status == 200)
        #expect(studio.body.contains("/static/studio.js"))
        let ops = try await HTTP.request("GET", port: server.port, path: "/ops")
        #expect(ops.body.contains("/static/ops.js"))
        let style = try await HTTP.request("GET", port: server.port, path: "/static/hawker.css")
        #expect(style.headers["content-type"] == "text/css; charset=utf-8")
        // Revalidation: the same ETag is a 304 without a body.
        let etag = try #require(sdk.headers["etag"])
        let again = try await HTTP.request("GET", port: server.port, path: "/sdk/hawker.js", headers: ["If-None-Match": etag])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        await server.stop()
    }

    /// The ops dashboard's stream list is for admins.
    @Test func theBusiestStreamsAreForAdmins() async throws {
        let server = try await TestGateway.start()
        try await server.catalog("shop", ["p1"])
        let viewer = try await server.client(.viewer, streams: ["shop"], sub: "v")
        _ = try await viewer.request(["type": "subscribe", "id": "s", "stream": "shop"])
        let admin = try await server.token(.admin, streams: [], sub: "ops")
        let host = try await server.token(.host, streams: ["shop"], sub: "h")
        let list = try await HTTP.request("GET", port: server.port, path: "/v1/streams?limit=5", headers: ["Authorization": "Bearer \(admin)"])
        #expect(list.status == 200)
        let first = (list.json?["streams"] as? [[String: Any]])?.first
        #expect(first?["stream"] as? String == "shop")
        #expect(first?["subscribers"] as? Int == 1)
        #expect(first?["events"] as? Int == 1)
        let refused = try await HTTP.request("GET", port: server.port, path: "/v1/streams", headers: ["Authorization": "Bearer \(host)"])
        #expect(refused.status == 403)
        await viewer.close()
        await server.stop()
    }

    @Test(arguments: ["/static/../Package.swift", "/static/.hidden", "/static/nope.js", "/sdk/../watch.html", "/watch/", "/watch/a/b"])
    func nothingElseIsServed(_ path: String) async throws {
        let server = try await TestGateway.start()
        let response = try await HTTP.request("GET", port: server.port, path: path)
        #expect(response.status == 404, "\(path): \(response.status)")
        await server.stop()
    }
}
