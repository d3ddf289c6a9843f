import Foundation
import HawkerAuth
import HawkerProtocol
import JWTKit
import Testing

@Suite("TokenVerifier (HS256)")
struct TokenVerifierTests {

    private static let secret = "test-secret-that-is-long-enough-0123456789"

    private func verifier(secret: String = Self.secret, leeway: TimeInterval = 0) async throws -> TokenVerifier {
        TokenVerifier(keys: try await TokenVerifier.makeKeys(hmacSecret: secret, jwksJSON: nil), leeway: leeway, clock: { testNow })
    }

    private func sign(_ claims: HawkerClaims, secret: String = Self.secret) async throws -> String {
        try await TokenIssuer(hmacSecret: secret).issue(claims)
    }

    private func claims(
        sub: String = "host-ana", role: Role = .host, streams: [String] = ["shop-42"], merchant: String? = "m-17",
        expiresIn: TimeInterval = 3_600, notBeforeIn: TimeInterval? = nil
    ) -> HawkerClaims {
        HawkerClaims(
            sub: sub, role: role, streams: streams, merchant: merchant,
            expiresAt: testNow.addingTimeInterval(expiresIn),
            notBefore: notBeforeIn.map { testNow.addingTimeInterval($0) },
            issuedAt: testNow
        )
    }

    private func failure(_ result: Result<Principal, AuthError>) -> AuthError? {
        if case .failure(let error) = result { return error }
        return nil
    }

    @Test func validToken() async throws {
        let token = try await sign(claims())
        let principal = try await verifier().verify(token).get()
        #expect(principal.subject == "host-ana")
        #expect(principal.role == .host)
        #expect(principal.streams == .only(["shop-42"]))
        #expect(principal.merchant == "m-17")
        #expect(principal.expiresAt == Int64(testNow.timeIntervalSince1970 + 3_600) * 1_000)
    }

    @Test(arguments: Role.allCases)
    func everyRoleIsRead(_ role: Role) async throws {
        let principal = try await verifier().verify(try await sign(claims(role: role, merchant: nil))).get()
        #expect(principal.role == role)
        #expect(principal.merchant == nil)
    }

    @Test func severalStreams() async throws {
        let principal = try await verifier().verify(try await sign(claims(streams: ["a", "b", "c"]))).get()
        #expect(principal.streams == .only(["a", "b", "c"]))
    }

    @Test func starMeansAllStreams() async throws {
        let principal = try await verifier().verify(try await sign(claims(role: .viewer, streams: ["*"]))).get()
        #expect(principal.streams == .all)
        let mixed = try await verifier().verify(try await sign(claims(role: .viewer, streams: ["a", "*"]))).get()
        #expect(mixed.streams == .all)
    }

    @Test func missingStreamsClaimIsEmpty() async throws {
        var noStreams = claims()
        noStreams.streams = nil
        let principal = try await verifier().verify(try await sign(noStreams)).get()
        #expect(principal.streams == .only([]))
    }

    @Test func expired() async throws {
        let token = try await sign(claims(expiresIn: -1))
        #expect(failure(try await verifier().verify(token))?.code == .tokenExpired)
    }

    @Test func expiringExactlyNowIsExpired() async throws {
        let token = try await sign(claims(expiresIn: 0))
        #expect(failure(try await verifier().verify(token))?.code == .tokenExpired)
    }

    @Test func leewayAppliesToExpiry() async throws {
        let token = try await sign(claims(expiresIn: -30))
        #expect(try await verifier(leeway: 60).verify(token).get().subject == "host-ana")
        #expect(failure(try await verifier(leeway: 10).verify(token))?.code == .tokenExpired)
    }

    @Test func notBeforeInTheFuture() async throws {
        let token = try await sign(claims(notBeforeIn: 3_600))
        #expect(failure(try await verifier().verify(token))?.code == .tokenExpired)
        // Within the leeway it is fine.
        let soon = try await sign(claims(notBeforeIn: 5))
        #expect(try await verifier(leeway: 10).verify(soon).get().role == .host)
    }

    @Test func notBeforeInThePast() async throws {
        let token = try await sign(claims(notBeforeIn: -5))
        #expect(try await verifier().verify(token).get().subject == "host-ana")
    }

    @Test func wrongSecret() async throws {
        let token = try await sign(claims(), secret: "another-secret-entirely-0123456789")
        #expect(failure(try await verifier().verify(token))?.code == .unauthorized)
    }

    @Test func forgedExpiredTokenIsUnauthorizedNotExpired() async throws {
        // The signature is checked before the claims (PROTOCOL.md §4.1).
        let token = try await sign(claims(expiresIn: -3_600), secret: "another-secret-entirely-0123456789")
        #expect(failure(try await verifier().verify(token))?.code == .unauthorized)
    }

    @Test func tamperedPayload() async throws {
        let token = try await sign(claims(role: .viewer))
        let parts = token.split(separator: ".")
        let payload = #"{"sub":"host-ana","role":"admin","streams":["*"],"exp":\#(Int(testNow.timeIntervalSince1970) + 3_600)}"#
        let tampered = "\(parts[0]).\(base64URL(payload)).\(parts[2])"
        #expect(failure(try await verifier().verify(tampered))?.code == .unauthorized)
    }

    @Test func algNone() async throws {
        let header = base64URL(#"{"alg":"none","typ":"JWT"}"#)
        let payload = base64URL(#"{"sub":"mallory","role":"admin","streams":["*"],"exp":\#(Int(testNow.timeIntervalSince1970) + 3_600)}"#)
        #expect(failure(try await verifier().verify("\(header).\(payload)."))?.code == .unauthorized)
    }

    @Test(arguments: ["not-a-jwt", "", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.e30", "eyJhbGciOiJIUzI1NiJ9.!!!.sig"])
    func garbage(_ token: String) async throws {
        #expect(failure(try await verifier().verify(token))?.code == .unauthorized)
    }

    @Test func overlongToken() async throws {
        #expect(failure(try await verifier().verify(String(repeating: "a", count: 9_000)))?.code == .unauthorized)
    }

    @Test func unknownRole() async throws {
        var superuser = claims()
        superuser.role = "superuser"
        #expect(failure(try await verifier().verify(try await sign(superuser)))?.code == .unauthorized)
    }

    @Test func illTypedClaims() async throws {
        // A correctly signed token whose claims have the wrong types.
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: Self.secret), digestAlgorithm: .sha256)
        struct Odd: JWTPayload {
            var sub: String
            var role: Int
            var exp: ExpirationClaim
            func verify(using algorithm: some JWTAlgorithm) async throws {}
        }
        let token = try await keys.sign(Odd(sub: "x", role: 3, exp: ExpirationClaim(value: testNow.addingTimeInterval(60))))
        #expect(failure(try await verifier().verify(token))?.code == .unauthorized)
    }

    /// Claims are numbers from outside: a validly signed token with `exp` = 10^16 used to
    /// trap converting it to milliseconds; now it is refused like any out-of-range number.
    @Test(
        arguments: [
            (1e16, nil), (1e19, nil), (-1e19, nil), (3_600.0, 1e19), (3_600.0, -1e19),
        ] as [(TimeInterval, TimeInterval?)])
    func timeClaimsOutOfRangeAreRefused(_ expiresIn: TimeInterval, _ notBeforeIn: TimeInterval?) async throws {
        let token = try await sign(claims(expiresIn: expiresIn, notBeforeIn: notBeforeIn))
        let error = try #require(failure(try await verifier().verify(token)))
        #expect(error.code == .unauthorized)
        #expect(error.message.contains("out of range"))
    }

    @Test func anExpiryFarAheadButInRangeIsKept() async throws {
        // 2^53 − 1 ms is year 287,396: accepted, and held exactly.
        let principal = try await verifier().verify(try await sign(claims(expiresIn: 9_000_000_000_000 - 2_000_000_000))).get()
        #expect(principal.expiresAt == 9_000_000_000_000_000)
    }

    @Test(arguments: ["", String(repeating: "s", count: 257)])
    func subjectsMustBeOneTo256Characters(_ sub: String) async throws {
        let error = try #require(failure(try await verifier().verify(try await sign(claims(sub: sub)))))
        #expect(error.code == .unauthorized)
        #expect(error.message.contains("'sub'"))
    }
}
