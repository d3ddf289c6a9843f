import Crypto
import Foundation
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
}
