import Crypto
import Foundation
import HawkerAuth
import HawkerServer
import SwiftASN1
import Testing
import X509

/// With a certificate configured, the same port serves HTTPS and WSS.
@Suite struct TLSTests {
    /// A self-signed P-256 certificate for 127.0.0.1, written as PEM files.
    static func selfSignedCertificate() throws -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("127.0.0.1") }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-60),
            notValidAfter: Date().addingTimeInterval(3_600),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: Certificate.Extensions {},
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificatePath = directory.appendingPathComponent("cert.pem").path
        let keyPath = directory.appendingPathComponent("key.pem").path
        try certificate.serializeAsPEM().pemString.write(toFile: certificatePath, atomically: true, encoding: .utf8)
        try key.pemRepresentation.write(toFile: keyPath, atomically: true, encoding: .utf8)
        return (certificatePath, keyPath)
    }

    @Test func httpsAndUpgradeOverTLS() async throws {
        let (certificate, key) = try Self.selfSignedCertificate()
        let server = try await TestGateway.start {
            $0.tlsCertificatePath = certificate
            $0.tlsPrivateKeyPath = key
        }
        let health = try await RawHTTP.exchange(port: server.port, tls: true, "GET /healthz HTTP/1.1\nHost: 127.0.0.1\n\n")
        #expect(health.status == 200)
        #expect(health.body.contains("ok"))
        let upgrade = try await RawHTTP.exchange(
            port: server.port,
            tls: true,
            "GET /ws HTTP/1.1\nHost: 127.0.0.1\nConnection: Upgrade\nUpgrade: websocket\nSec-WebSocket-Version: 13\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Protocol: hawker.v1\n\n"
        )
        #expect(upgrade.status == 101)
        await server.stop()
    }

    /// Broadcasts are written from the handler right above TLS (not through the WebSocket
    /// layer): a viewer over WSS gets them encrypted, after its own replies, in order.
    @Test func broadcastsReachAViewerOverTLS() async throws {
        let (certificate, key) = try Self.selfSignedCertificate()
        let server = try await TestGateway.start {
            $0.tlsCertificatePath = certificate
            $0.tlsPrivateKeyPath = key
        }
        try await server.catalog("shop", ["p1"])
        let token = try await server.token(.viewer, streams: ["shop"], sub: "tls-viewer")
        let viewer = try await RawConnection.open(port: server.port, tls: true)
        try await viewer.send(
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: hawker.v1\r\n\r\n"
        )
        #expect(await viewer.waitFor("101 Switching Protocols"))
        try await viewer.send(bytes: FloodSocket.text(#"{"type":"connect","id":"c","token":"\#(token)"}"#))
        try await viewer.send(bytes: FloodSocket.text(#"{"type":"subscribe","id":"s","stream":"shop"}"#))
        #expect(await viewer.waitFor(#""subscribed""#))
        for price in [1_111, 2_222, 3_333] {
            try await server.catalog("shop", ["p1"], price: Int64(price))
        }
        #expect(await viewer.waitFor(#""price":3333"#))
        let received = viewer.received
        let order = [1_111, 2_222, 3_333].compactMap { received.range(of: #""price":\#($0)"#)?.lowerBound }
        #expect(order.count == 3 && order == order.sorted(), "events out of order: \(received)")
        await viewer.close()
        await server.stop()
    }
}
