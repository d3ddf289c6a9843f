import Crypto
import Foundation
import HawkerProtocol
import JWTKit

/// Verifies Hawker tokens: HS256 with a shared secret and/or RS256/ES256 keys from a
/// JWKS document (the `kid` header picks the key). `alg: none` is never accepted: no
/// key for it is ever registered.
public struct TokenVerifier: Sendable {
    private let keys: TokenKeys
    private let clock: @Sendable () -> Date
    /// Allowed clock skew for `exp` and `nbf`, in seconds.
    private let leeway: TimeInterval
    /// When set, tokens must carry this `iss`.
    private let issuer: String?
    private let verified: VerifiedTokenCache

    /// The longest token accepted, in bytes.
    public static let maxTokenBytes = 8192

    public init(keys: TokenKeys, leeway: TimeInterval = 0, issuer: String? = nil, cacheCapacity: Int = 16_384, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.keys = keys
        self.leeway = leeway
        self.issuer = issuer
        self.clock = clock
        self.verified = VerifiedTokenCache(capacity: cacheCapacity)
    }

    /// A key collection with an HS256 secret and, optionally, the public keys of a JWKS file.
    /// HS256 secrets shorter than the hash output are refused (RFC 7518 §3.2).
    public static let minimumSecretBytes = 32

    public static func makeKeys(hmacSecret: String?, jwksJSON: String?) async throws -> TokenKeys {
        let keys = JWTKeyCollection()
        var hs256: SymmetricKey?
        if let hmacSecret {
            guard hmacSecret.utf8.count >= minimumSecretBytes else {
                throw AuthError(code: .unauthorized, message: "the HS256 secret must be at least \(minimumSecretBytes) bytes")
            }
            await keys.add(hmac: HMACKey(from: hmacSecret), digestAlgorithm: .sha256)
            hs256 = SymmetricKey(data: Array(hmacSecret.utf8))
        }
        if let jwksJSON {
            try await keys.add(jwksJSON: jwksJSON)
        }
        return TokenKeys(collection: keys, hs256: hs256)
    }

    /// The answer without leaving the calling thread, when there is one: a token verified
    /// before and still valid, or a plain HS256 token (`HS256Token`). Nil when only
    /// `verify` can tell (a JWKS key, another header, a bad signature).
    public func verifyNow(_ token: String) -> Result<Principal, AuthError>? {
        guard token.utf8.count <= Self.maxTokenBytes else { return .failure(.unauthorized("token is too long")) }
        let now = clock()
        if let principal = verified.principal(for: token, now: now.timeIntervalSince1970) { return .success(principal) }
        guard let hs256 = keys.hs256, let claims = HS256Token.verify(token, key: hs256) else { return nil }
        return admit(claims, token: token, now: now)
    }

    public func verify(_ token: String) async -> Result<Principal, AuthError> {
        if let result = verifyNow(token) { return result }
        let claims: HawkerClaims
        do {
            claims = try await keys.collection.verify(token, as: HawkerClaims.self)
        } catch {
            return .failure(.unauthorized("token is invalid: \(Self.describe(error))"))
        }
        return admit(TokenClaims(claims), token: token, now: clock())
    }

    /// The checks after the signature, the same for both paths; a token that passes is
    /// remembered until it expires.
    private func admit(_ claims: TokenClaims, token: String, now: Date) -> Result<Principal, AuthError> {
        if let issuer, claims.issuer != issuer {
            return .failure(.unauthorized("token issuer is not '\(issuer)'"))
        }
        // Times from outside are numbers like any other: within 2^53 − 1 milliseconds.
        let latest = Double(JSONValue.maxSafeInteger / 1000)
        for (name, seconds) in [("exp", claims.expiresAt), ("nbf", claims.notBefore ?? 0)] {
            guard seconds.isFinite, (0...latest).contains(seconds) else {
                return .failure(.unauthorized("token claim '\(name)' is out of range (0...\(Int64(latest)) seconds)"))
            }
        }
        guard (1...256).contains(claims.subject.unicodeScalars.count) else {
            return .failure(.unauthorized("token claim 'sub' must be 1-256 characters"))
        }
        let seconds = now.timeIntervalSince1970
        let acceptedUntil = claims.expiresAt + leeway
        if acceptedUntil <= seconds {
            return .failure(.expired("token expired at \(Int(claims.expiresAt))"))
        }
        if let notBefore = claims.notBefore, notBefore - leeway > seconds {
            return .failure(.expired("token is not valid before \(Int(notBefore))"))
        }
        guard let role = Role(rawValue: claims.role) else {
            return .failure(.unauthorized("unknown role '\(claims.role.prefix(32))'"))
        }
        let streams = claims.streams ?? []
        let scope: Principal.StreamScope = streams.contains("*") ? .all : .only(Set(streams))
        let principal = Principal(
            subject: claims.subject,
            role: role,
            streams: scope,
            merchant: claims.merchant,
            name: claims.name.map { String($0.prefix(64)) },
            expiresAt: Int64(claims.expiresAt * 1000)
        )
        verified.insert(token, principal, acceptedUntil: acceptedUntil, now: seconds)
        return .success(principal)
    }

    private static func describe(_ error: any Error) -> String {
        if let jwtError = error as? JWTError {
            switch jwtError.errorType {
            case .signatureVerificationFailed: return "bad signature"
            case .malformedToken: return "malformed"
            case .unknownKID: return "unknown key id"
            case .missingKIDHeader: return "missing key id"
            default: return "verification failed"
            }
        }
        return "malformed"
    }
}
