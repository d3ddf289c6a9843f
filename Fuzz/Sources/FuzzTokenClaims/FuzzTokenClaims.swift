import Crypto
import Foundation
import HarnessSupport
import HawkerAuth
import HawkerProtocol

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    resetTrapSignals()
    return 0
}

/// Token verification with attacker-chosen claims: the input (after one settings byte)
/// is a JWT's payload, signed properly with the gateway's HS256 secret, so every claim
/// reaches `TokenVerifier`'s own checks (exp/nbf range, sub length, role, streams...).
/// The raw input is also tried as a token string.
///
/// Settings byte: bit 0 leeway 60 s and issuer "hawker" (else none); bits 1-2 the token:
/// HS256 signed with the secret, alg none (unsigned), HS256 signed with another secret,
/// HS256 with a kid.
///
/// Must never trap (earlier crashes: exp=1e16, nbf=1e19). Also checked: the fast path
/// (`HS256Token`) gives the answer jwt-kit alone gives, for every input; only a properly
/// signed HS256 token is accepted; an accepted token's subject is 1-256 characters, its
/// expiry in the future and within 0...2^53 − 1 ms, its display name at most 64 characters.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenClaims(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let settings = input.byte()
    let payload = input.rest()
    let verifier = settings & 0x01 == 0 ? Verifiers.plain : Verifiers.strict
    let header = Headers.all[Int(settings >> 1 & 0x03)]

    let signingInput = base64URL(Array(header.json.utf8)) + "." + base64URL(payload)
    let signature = header.key.map { base64URL(Array(HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: $0))) } ?? ""
    let token = signingInput + "." + signature
    let result = runBlocking { await verifier.verifier.verify(token) }
    // The fast path (HS256Token, no cache here) answers exactly as jwt-kit alone does.
    let jwtKitResult = runBlocking { await verifier.jwtKit.verify(token) }
    require(result == jwtKitResult, "the fast path said \(result), jwt-kit \(jwtKitResult)")
    if case .success(let principal) = result {
        require(!header.mustFail, "a token with header \(header.json) and a \(header.key == nil ? "missing" : "wrong") signature was accepted")
        check(principal, verifier: verifier)
    }

    let raw = String(decoding: payload, as: UTF8.self)
    if case .success(let principal) = runBlocking({ await verifier.verifier.verify(raw) }) {
        // Only a token signed with the secret can pass; the fuzzer does not know it.
        fatalError("a raw input was accepted as a token: \(raw) → \(principal)")
    }
    return 0
}

private func check(_ principal: Principal, verifier: Verifiers.Variant) {
    require((1...256).contains(principal.subject.unicodeScalars.count), "subject of \(principal.subject.unicodeScalars.count) characters")
    require((principal.name?.count ?? 0) <= 64, "name of \(principal.name?.count ?? 0) characters")
    guard let expiresAt = principal.expiresAt else { fatalError("an accepted token without expiry") }
    require((0...JSONValue.maxSafeInteger).contains(expiresAt), "expiresAt \(expiresAt) outside 0...2^53 − 1")
    require(Double(expiresAt) / 1000 + verifier.leeway + 1 > Verifiers.now, "an expired token (\(expiresAt)) was accepted")
}

private struct Header: Sendable {
    var json: String
    /// The key it is signed with; nil for no signature.
    var key: SymmetricKey?
    /// Whatever the claims, verification must refuse it.
    var mustFail: Bool
}

private enum Headers {
    static let all = [
        Header(json: #"{"alg":"HS256","typ":"JWT"}"#, key: Verifiers.key, mustFail: false),
        Header(json: #"{"alg":"none","typ":"JWT"}"#, key: nil, mustFail: true),
        Header(json: #"{"alg":"HS256","typ":"JWT"}"#, key: SymmetricKey(data: Array("another-secret-of-at-least-32-bytes!!".utf8)), mustFail: true),
        // No key has this id: JWTKit refuses it, or (if it fell back to the default key)
        // the signature is still the secret's; either way nothing to check here.
        Header(json: #"{"alg":"HS256","typ":"JWT","kid":"other"}"#, key: Verifiers.key, mustFail: false),
    ]
}

private enum Verifiers {
    struct Variant: Sendable {
        var verifier: TokenVerifier
        /// The same settings, every token checked by jwt-kit alone.
        var jwtKit: TokenVerifier
        var leeway: Double
    }

    static let secret = "fuzz-secret-not-a-real-one-0123456789abcdef"
    static let key = SymmetricKey(data: Array(secret.utf8))
    /// A fixed clock: 2024-11-26.
    static let now: Double = 1_732_660_000
    static let keys = runBlocking {
        try! await TokenVerifier.makeKeys(hmacSecret: secret, jwksJSON: nil)
    }
    // No cache: every input takes the path it would take first.
    static let plain = Variant(
        verifier: TokenVerifier(keys: keys, cacheCapacity: 0, clock: { Date(timeIntervalSince1970: now) }),
        jwtKit: TokenVerifier(keys: keys.withoutFastPath(), cacheCapacity: 0, clock: { Date(timeIntervalSince1970: now) }), leeway: 0
    )
    static let strict = Variant(
        verifier: TokenVerifier(keys: keys, leeway: 60, issuer: "hawker", cacheCapacity: 0, clock: { Date(timeIntervalSince1970: now) }),
        jwtKit: TokenVerifier(keys: keys.withoutFastPath(), leeway: 60, issuer: "hawker", cacheCapacity: 0, clock: { Date(timeIntervalSince1970: now) }),
        leeway: 60
    )
}

private func base64URL(_ bytes: [UInt8]) -> String {
    var text = Data(bytes).base64EncodedString()
    text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    while text.hasSuffix("=") { text.removeLast() }
    return text
}
