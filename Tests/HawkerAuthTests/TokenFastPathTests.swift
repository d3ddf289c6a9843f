import Crypto
import Foundation
import HawkerProtocol
import JWTKit
import Synchronization
import Testing

@testable import HawkerAuth

/// Tokens answered on the calling thread: plain HS256 tokens read by `HS256Token`, and
/// tokens verified before (`VerifiedTokenCache`). Each answer must be the one jwt-kit
/// alone gives.
@Suite struct TokenFastPathTests {
    private static let secret = "test-secret-that-is-long-enough-0123456789"

    private func verifiers(clock: @escaping @Sendable () -> Date = { testNow }) async throws -> (fast: TokenVerifier, jwtKit: TokenVerifier) {
        let keys = try await TokenVerifier.makeKeys(hmacSecret: Self.secret, jwksJSON: nil)
        return (TokenVerifier(keys: keys, clock: clock), TokenVerifier(keys: keys.withoutFastPath(), cacheCapacity: 0, clock: clock))
    }

    /// A token with exactly this header and payload text, signed with `secret`.
    private func token(header: String = #"{"alg":"HS256","typ":"JWT"}"#, _ payload: String, secret: String = Self.secret) -> String {
        let input = base64URL(header) + "." + base64URL(payload)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return input + "." + base64URL(Array(mac))
    }

    private static let exp = Int(testNow.timeIntervalSince1970) + 600

    @Test func aPlainHS256TokenIsAnsweredWithoutJWTKit() async throws {
        let (fast, jwtKit) = try await verifiers()
        let token = try await TokenIssuer(hmacSecret: Self.secret).issue(
            HawkerClaims(sub: "ana", role: .host, streams: ["shop"], merchant: "m-1", name: "Ana", expiresAt: testNow.addingTimeInterval(600)))
        let now = try #require(fast.verifyNow(token))
        #expect(try now.get().subject == "ana")
        #expect(now == (await jwtKit.verify(token)))
        #expect(jwtKit.verifyNow(token) == nil, "without the fast path only jwt-kit answers")
        // Digits and an e inside strings (a UUID subject) are no exponent: still on the loop.
        let uuid = try await TokenIssuer(hmacSecret: Self.secret).issue(
            HawkerClaims(sub: "3f9a1c07-d2b8-4e65-9e1e-12e4", role: .viewer, streams: ["1e5"], expiresAt: testNow.addingTimeInterval(600)))
        #expect(fast.verifyNow(uuid)?.success?.subject == "3f9a1c07-d2b8-4e65-9e1e-12e4")
    }

    /// Headers, claim types and signatures at the edges: the fast path answers or steps
    /// aside, and what the verifier says is what jwt-kit says.
    @Test(arguments: [
        #"{"sub":"a","role":"viewer","exp":\#(exp)}"#,
        #"{"sub":"a","role":"viewer","exp":\#(exp).5,"nbf":1,"iat":2,"streams":null,"merchant":null,"name":null}"#,
        #"{"sub":"a","role":"viewer","exp":\#(exp),"streams":["*"],"extra":{"nested":[1,2]}}"#,
        #"{"sub":"a","role":"viewer","exp":\#(exp),"streams":["x",3]}"#,
        #"{"sub":"a","role":"viewer","exp":"\#(exp)"}"#,
        #"{"sub":"a","role":"viewer","exp":\#(exp),"name":5}"#,
        #"{"sub":"a","role":"viewer","exp":\#(exp),"iat":"now"}"#,
        #"{"sub":"a","role":"viewer","exp":\#(exp),"iss":"elsewhere"}"#,
        #"{"sub":"a","role":"nobody","exp":\#(exp)}"#,
        #"{"sub":"","role":"viewer","exp":\#(exp)}"#,
        #"{"role":"viewer","exp":\#(exp)}"#,
        #"{"sub":"a","role":"viewer","exp":1000}"#,
        #"{"sub":"a","role":"viewer","exp":1e300}"#,
        // Found by FuzzTokenClaims: an exponent Foundation refuses and JSONParser reads as 0.
        #"{"sub":"a","role":"viewer","exp":\#(exp),"iat":0.5e-31732659990}"#,
        #"{"sub":"a","role":"viewer","exp":\#(exp)e0,"name":"1e5 \"2e\" true"}"#,
        #"{"sub":"a","role":"viewer","exp":\#(exp),"nbf":\#(exp)}"#,
        #"{"sub":"a","sub":"b","role":"viewer","exp":\#(exp)}"#,
        #"["not","an","object"]"#,
        #"{"sub":"a","role":"viewer","exp":\#(exp)"#,
    ])
    func bothPathsAgree(_ payload: String) async throws {
        let (fast, jwtKit) = try await verifiers()
        for header in [#"{"alg":"HS256","typ":"JWT"}"#, #"{"alg":"HS256"}"#, #"{"typ":"JWT","alg":"HS256"}"#, #"{"alg":"HS256","kid":"k"}"#, #"{"alg":"HS256","crit":["x"]}"#] {
            let signed = token(header: header, payload)
            #expect(await fast.verify(signed) == (await jwtKit.verify(signed)), "\(header) \(payload)")
        }
    }

    @Test func whatTheFastPathDoesNotReadIsLeftToJWTKit() async throws {
        let (fast, _) = try await verifiers()
        let payload = #"{"sub":"a","role":"viewer","exp":\#(Self.exp)}"#
        #expect(fast.verifyNow(token(payload, secret: "another-secret-that-is-long-enough-0123")) == nil, "a bad signature")
        #expect(fast.verifyNow(token(header: #"{"alg":"HS256","kid":"k"}"#, payload)) == nil, "a key id")
        #expect(fast.verifyNow(token(header: #"{"alg":"none"}"#, payload)) == nil)
        #expect(fast.verifyNow("a.b") == nil)
        let padded = token(payload) + "="
        #expect(fast.verifyNow(padded) == nil)
        #expect(try #require(fast.verifyNow(String(repeating: "a", count: TokenVerifier.maxTokenBytes + 1))).success == nil, "too long: refused at once")
    }

    /// An ES256 token (jwt-kit's path) verified once is answered on the spot until it
    /// expires; then jwt-kit refuses it as expired.
    @Test func aVerifiedTokenIsRememberedUntilItExpires() async throws {
        let now = Mutex(testNow)
        let key = P256.Signing.PrivateKey()
        let point = Array(key.publicKey.x963Representation)
        let jwk = #"{"kty":"EC","crv":"P-256","alg":"ES256","kid":"k1","x":"\#(base64URL(point[1...32]))","y":"\#(base64URL(point[33...64]))"}"#
        let verifier = TokenVerifier(keys: try await TokenVerifier.makeKeys(hmacSecret: nil, jwksJSON: #"{"keys":[\#(jwk)]}"#), clock: { now.withLock { $0 } })
        let signer = JWTKeyCollection()
        await signer.add(ecdsa: try ES256PrivateKey(backing: key), kid: "k1")
        let token = try await signer.sign(HawkerClaims(sub: "orders", role: .orderService, streams: [], merchant: "m", expiresAt: testNow.addingTimeInterval(60)), kid: "k1")

        #expect(verifier.verifyNow(token) == nil, "not verified yet: only jwt-kit can tell")
        #expect(try await verifier.verify(token).get().subject == "orders")
        #expect(verifier.verifyNow(token)?.success?.subject == "orders")
        now.withLock { $0 = testNow.addingTimeInterval(60) }
        #expect(verifier.verifyNow(token) == nil)
        #expect(await verifier.verify(token).failureCode == .tokenExpired)
    }

    @Test func theCacheIsBounded() {
        let cache = VerifiedTokenCache(capacity: 4)
        let principal = Principal(subject: "a", role: .viewer, streams: .all)
        for index in 0..<4 { cache.insert("old-\(index)", principal, acceptedUntil: 10, now: 0) }
        #expect(cache.count == 4)
        // Full: the expired ones go first.
        cache.insert("new-0", principal, acceptedUntil: 100, now: 20)
        #expect(cache.count == 1)
        for index in 1..<10 { cache.insert("new-\(index)", principal, acceptedUntil: 100, now: 20) }
        #expect(cache.count <= 4)
        #expect(cache.principal(for: "new-9", now: 20) == principal)
        #expect(cache.principal(for: "new-9", now: 100) == nil, "expired")
        let long = String(repeating: "t", count: VerifiedTokenCache.maxTokenBytes + 1)
        cache.insert(long, principal, acceptedUntil: 100, now: 20)
        #expect(cache.principal(for: long, now: 20) == nil, "a long token is verified each time, not kept")
    }
}

extension Result where Failure == AuthError {
    fileprivate var failureCode: ErrorCode? {
        if case .failure(let error) = self { return error.code }
        return nil
    }

    fileprivate var success: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}
