import Crypto
import Foundation
import HawkerAuth
import HawkerProtocol
import JWTKit
import Testing

/// ES256 tokens verified with public keys from a JWKS document.
@Suite("TokenVerifier (ES256 via JWKS)")
struct JWKSTokenTests {

    /// A JWKS entry for `key`'s public half: x and y are the two 32-byte coordinates.
    private func jwk(_ key: P256.Signing.PrivateKey, kid: String) -> String {
        let point = Array(key.publicKey.x963Representation)  // 04 || x || y
        let x = base64URL(point[1...32])
        let y = base64URL(point[33...64])
        return #"{"kty":"EC","crv":"P-256","alg":"ES256","use":"sig","kid":"\#(kid)","x":"\#(x)","y":"\#(y)"}"#
    }

    private func jwks(_ entries: String...) -> String {
        #"{"keys":[\#(entries.joined(separator: ","))]}"#
    }

    private func sign(_ claims: HawkerClaims, with key: P256.Signing.PrivateKey, kid: String) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: try ES256PrivateKey(backing: key), kid: JWKIdentifier(string: kid))
        return try await keys.sign(claims, kid: JWKIdentifier(string: kid))
    }

    private func claims(role: Role = .orderService, expiresIn: TimeInterval = 600) -> HawkerClaims {
        HawkerClaims(sub: "orders-1", role: role, streams: ["shop-42", "shop-43"], merchant: "m-17", expiresAt: testNow.addingTimeInterval(expiresIn))
    }

    private func verifier(hmacSecret: String? = nil, jwksJSON: String) async throws -> TokenVerifier {
        TokenVerifier(keys: try await TokenVerifier.makeKeys(hmacSecret: hmacSecret, jwksJSON: jwksJSON), clock: { testNow })
    }

    private func failure(_ result: Result<Principal, AuthError>) -> AuthError? {
        if case .failure(let error) = result { return error }
        return nil
    }

    @Test func validES256Token() async throws {
        let key = P256.Signing.PrivateKey()
        let token = try await sign(claims(), with: key, kid: "k1")
        #expect(token.split(separator: ".").count == 3)

        let principal = try await verifier(jwksJSON: jwks(jwk(key, kid: "k1"))).verify(token).get()
        #expect(principal.subject == "orders-1")
        #expect(principal.role == .orderService)
        #expect(principal.streams == .only(["shop-42", "shop-43"]))
        #expect(principal.merchant == "m-17")
    }

    @Test func kidSelectsTheKey() async throws {
        let first = P256.Signing.PrivateKey()
        let second = P256.Signing.PrivateKey()
        let verifier = try await verifier(jwksJSON: jwks(jwk(first, kid: "k1"), jwk(second, kid: "k2")))
        #expect(try await verifier.verify(try await sign(claims(), with: first, kid: "k1")).get().subject == "orders-1")
        #expect(try await verifier.verify(try await sign(claims(), with: second, kid: "k2")).get().subject == "orders-1")
        // Signed by one key but naming the other: bad signature.
        #expect(failure(await verifier.verify(try await sign(claims(), with: first, kid: "k2")))?.code == .unauthorized)
    }

    @Test func keyNotInTheJWKS() async throws {
        let published = P256.Signing.PrivateKey()
        let stranger = P256.Signing.PrivateKey()
        let token = try await sign(claims(), with: stranger, kid: "k1")
        #expect(failure(try await verifier(jwksJSON: jwks(jwk(published, kid: "k1"))).verify(token))?.code == .unauthorized)
    }

    @Test func expiredES256Token() async throws {
        let key = P256.Signing.PrivateKey()
        let token = try await sign(claims(expiresIn: -1), with: key, kid: "k1")
        #expect(failure(try await verifier(jwksJSON: jwks(jwk(key, kid: "k1"))).verify(token))?.code == .tokenExpired)
    }

    @Test func hmacAndJWKSTogether() async throws {
        let key = P256.Signing.PrivateKey()
        let secret = "shared-secret-for-hs256-0123456789abcdef"
        let verifier = try await verifier(hmacSecret: secret, jwksJSON: jwks(jwk(key, kid: "k1")))
        #expect(try await verifier.verify(try await sign(claims(), with: key, kid: "k1")).get().role == .orderService)
        let hs256 = try await TokenIssuer(hmacSecret: secret).issue(claims(role: .host))
        #expect(try await verifier.verify(hs256).get().role == .host)
    }

    @Test func algNoneWithOnlyJWKSKeys() async throws {
        let key = P256.Signing.PrivateKey()
        let header = base64URL(#"{"alg":"none","typ":"JWT","kid":"k1"}"#)
        let payload = base64URL(#"{"sub":"mallory","role":"admin","streams":["*"],"exp":\#(Int(testNow.timeIntervalSince1970) + 600)}"#)
        let result = try await verifier(jwksJSON: jwks(jwk(key, kid: "k1"))).verify("\(header).\(payload).")
        #expect(failure(result)?.code == .unauthorized)
    }
}
