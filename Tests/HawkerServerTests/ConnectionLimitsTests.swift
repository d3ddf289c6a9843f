import Foundation
import HawkerServer
import NIOCore
import NIOSSL
import Testing

/// What a connection may take before it is a WebSocket or has made a request: the
/// request timeout (silent sockets, slowloris, idle keep-alives), the TLS handshake
/// timeout, half-open connections per address, TLS versions and suites, and the HTTP
/// deviations an upgrade or a static file used to get wrong.
@Suite struct ConnectionLimitsTests {
    private static let upgrade =
        "GET /ws HTTP/1.1\nHost: 127.0.0.1\nConnection: Upgrade\nUpgrade: websocket\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Protocol: hawker.v1\n"

    @Test func aSilentSocketIsClosedAfterTheRequestTimeout() async throws {
        let server = try await TestGateway.start { $0.httpRequestTimeout = .milliseconds(200) }
        let silent = try await RawConnection.open(port: server.port)
        #expect(await silent.closedByServer(within: 10))
        await server.stop()
    }

    /// A byte every 50 ms keeps an idle timer alive forever; the request deadline is
    /// counted from the opening, so the trickle is cut off.
    @Test func slowlorisHeadersAreCutOffWhateverTheTrickle() async throws {
        let server = try await TestGateway.start { $0.httpRequestTimeout = .milliseconds(300) }
        let slow = try await RawConnection.open(port: server.port)
        try? await slow.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        var sent = 0
        while slow.channel.isActive, sent < 200 {
            try? await slow.send("X-Pad-\(sent): x\r\n")
            sent += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(await slow.closedByServer(within: 10))
        #expect(sent < 200, "the server kept reading headers for \(sent * 50) ms")
        await server.stop()
    }

    @Test func aKeepAliveConnectionServesRequestsThenIdlesOut() async throws {
        let server = try await TestGateway.start { $0.httpRequestTimeout = .seconds(2) }
        let connection = try await RawConnection.open(port: server.port)
        try await connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(await connection.waitFor("\"ok\""))
        #expect(connection.channel.isActive, "a keep-alive connection stays open after its response")
        #expect(await connection.closedByServer(within: 10))
        await server.stop()
    }

    /// Two silent sockets from one address use its half-open allowance; a third is
    /// refused at accept, and a connection that completed a request no longer counts.
    @Test func halfOpenConnectionsPerAddressAreBounded() async throws {
        let server = try await TestGateway.start {
            $0.maxPendingPerAddress = 2
            $0.httpRequestTimeout = .seconds(60)
        }
        let first = try await RawConnection.open(port: server.port)
        let second = try await RawConnection.open(port: server.port)
        let third = try await RawConnection.open(port: server.port)
        #expect(await third.closedByServer(within: 10))
        try await first.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(await first.waitFor("\"ok\""))
        let fourth = try await RawHTTP.exchange(port: server.port, "GET /healthz HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n")
        #expect(fourth.status == 200)
        #expect(second.channel.isActive)
        await first.close()
        await second.close()
        await server.stop()
    }

    @Test func aStalledTLSHandshakeIsDropped() async throws {
        let (certificate, key) = try TLSTests.selfSignedCertificate()
        let server = try await TestGateway.start {
            $0.tlsCertificatePath = certificate
            $0.tlsPrivateKeyPath = key
            $0.tlsHandshakeTimeout = .milliseconds(200)
            $0.httpRequestTimeout = .seconds(60)
        }
        // Plain TCP to the TLS port: no ClientHello ever comes.
        let silent = try await RawConnection.open(port: server.port)
        #expect(await silent.closedByServer(within: 10))
        await server.stop()
    }

    @Test func tlsBelow1_2AndSuitesWithoutForwardSecrecyAreRefused() async throws {
        let (certificate, key) = try TLSTests.selfSignedCertificate()
        let server = try await TestGateway.start {
            $0.tlsCertificatePath = certificate
            $0.tlsPrivateKeyPath = key
        }
        let old = try await RawConnection.open(port: server.port, tls: true, maximumTLSVersion: .tlsv11)
        try? await old.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(await old.closedByServer(within: 10))
        #expect(!old.received.contains("200"))
        // TLS 1.2 with CBC and no ECDHE: not offered by the server.
        let cbc = try await RawConnection.open(port: server.port, tls: true, maximumTLSVersion: .tlsv12, cipherSuites: "AES128-SHA:AES256-SHA")
        try? await cbc.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(await cbc.closedByServer(within: 10))
        #expect(!cbc.received.contains("200"))
        // TLS 1.2 with a forward-secret AEAD suite works.
        let good = try await RawConnection.open(port: server.port, tls: true, maximumTLSVersion: .tlsv12, cipherSuites: "ECDHE-ECDSA-AES128-GCM-SHA256")
        try await good.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(await good.waitFor("\"ok\""))
        await good.close()
        await server.stop()
    }

    /// RFC 6455 §4.4: an unsupported version gets 426 with the versions we speak.
    @Test func aWrongWebSocketVersionGets426WithTheVersionHeader() async throws {
        let server = try await TestGateway.start()
        let response = try await RawHTTP.exchange(port: server.port, Self.upgrade + "Sec-WebSocket-Version: 8\n\n")
        #expect(response.status == 426)
        #expect(response.header("Sec-WebSocket-Version") == "13")
        await server.stop()
    }

    @Test func twoOriginHeadersAreRefusedWhenOriginsAreChecked() async throws {
        let server = try await TestGateway.start { $0.allowedOrigins = ["https://shop.example"] }
        let both = try await RawHTTP.exchange(
            port: server.port, Self.upgrade + "Sec-WebSocket-Version: 13\nOrigin: https://shop.example\nOrigin: https://evil.example\n\n"
        )
        #expect(both.status == 403)
        let one = try await RawHTTP.exchange(port: server.port, Self.upgrade + "Sec-WebSocket-Version: 13\nOrigin: https://shop.example\n\n")
        #expect(one.status == 101)
        await server.stop()
    }

    @Test func headOnAStaticFileHasItsHeadersAndNoBody() async throws {
        let server = try await TestGateway.start()
        let get = try await RawHTTP.exchange(port: server.port, "GET /sdk/hawker.js HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n")
        let head = try await RawHTTP.exchange(port: server.port, "HEAD /sdk/hawker.js HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n")
        #expect(get.status == 200)
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head.header("Content-Length") == "\(get.body.utf8.count)")
        #expect(head.header("ETag") == get.header("ETag"))
        await server.stop()
    }

    @Test func theMetricsListenerServesMetricsWithoutATokenAndNothingElse() async throws {
        // A port found free may be taken before the gateway binds it (by another test's
        // client, from the same ephemeral range): another port then.
        var started: (port: Int, server: TestGateway)?
        for attempt in 1...5 where started == nil {
            let port = try await GatewayProcess.freePort()
            do {
                started = (port, try await TestGateway.start { $0.metricsPort = port })
            } catch  where attempt < 5 {
                continue
            }
        }
        let (port, server) = try #require(started)
        let metrics = try await HTTP.request("GET", port: port, path: "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("hawker_connections"))
        #expect(try await HTTP.request("GET", port: port, path: "/healthz").status == 404)
        #expect(try await HTTP.request("GET", port: server.port, path: "/metrics").status == 401)
        await server.stop()
    }
}
