import Foundation
import HawkerProtocol
import JWTKit

/// Verifies Hawker tokens: HS256 with a shared secret and/or RS256/ES256 keys from a
/// JWKS document (the `kid` header picks the key). `alg: none` is never accepted: no
/// key for it is ever registered.
public struct TokenVerifier: Sendable {
    private let keys: JWTKeyCollection
    private let clock: @Sendable () -> Date
    /// Allowed clock skew for `exp` and `nbf`, in seconds.
    private let leeway: TimeInterval
    /// When set, tokens must carry this `iss`.
    private let issuer: String?

    public init(keys: JWTKeyCollection, leeway: TimeInterval = 0, issuer: String? = nil, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.keys = keys
        self.leeway = leeway
        self.issuer = issuer
        self.clock = clock
    }

    /// A key collection with an HS256 secret and, optionally, the public keys of a JWKS file.
    /// HS256 secrets shorter than the hash output are refused (RFC 7518 §3.2).
    public static let minimumSecretBytes = 32

    public static func makeKeys(hmacSecret: String?, jwksJSON: String?) async throws -> JWTKeyCollection {
        let keys = JWTKeyCollection()
        if let hmacSecret {
            guard hmacSecret.utf8.count >= minimumSecretBytes else {
                throw AuthError(code: .unauthorized, message: "the HS256 secret must be at least \(minimumSecretBytes) bytes")
            }
            await keys.add(hmac: HMACKey(from: hmacSecret), digestAlgorithm: .sha256)
        }
        if let jwksJSON {
            try await keys.add(jwksJSON: jwksJSON)
        }
        return keys
    }

    public func verify(_ token: String) async -> Result<Principal, AuthError> {
        guard token.utf8.count <= 8192 else { return .failure(.unauthorized("token is too long")) }
        let claims: HawkerClaims
        do {
            claims = try await keys.verify(token, as: HawkerClaims.self)
        } catch {
            return .failure(.unauthorized("token is invalid: \(Self.describe(error))"))
        }
        if let issuer, claims.iss?.value != issuer {
            return .failure(.unauthorized("token issuer is not '\(issuer)'"))
        }
        // Times from outside are numbers like any other: within 2^53 − 1 milliseconds.
        let latest = Double(JSONValue.maxSafeInteger / 1000)
        for (name, seconds) in [("exp", claims.exp.value.timeIntervalSince1970), ("nbf", claims.nbf?.value.timeIntervalSince1970 ?? 0)] {
            guard seconds.isFinite, (0...latest).contains(seconds) else {
                return .failure(.unauthorized("token claim '\(name)' is out of range (0...\(Int64(latest)) seconds)"))
            }
        }
        guard (1...256).contains(claims.sub.value.unicodeScalars.count) else {
            return .failure(.unauthorized("token claim 'sub' must be 1-256 characters"))
        }
        let now = clock()
        if claims.exp.value.addingTimeInterval(leeway) <= now {
            return .failure(.expired("token expired at \(Int(claims.exp.value.timeIntervalSince1970))"))
        }
        if let nbf = claims.nbf, nbf.value.addingTimeInterval(-leeway) > now {
            return .failure(.expired("token is not valid before \(Int(nbf.value.timeIntervalSince1970))"))
        }
        guard let role = Role(rawValue: claims.role) else {
            return .failure(.unauthorized("unknown role '\(claims.role.prefix(32))'"))
        }
        let streams = claims.streams ?? []
        let scope: Principal.StreamScope = streams.contains("*") ? .all : .only(Set(streams))
        return .success(
            Principal(
                subject: claims.sub.value,
                role: role,
                streams: scope,
                merchant: claims.merchant,
                name: claims.name.map { String($0.prefix(64)) },
                expiresAt: Int64(claims.exp.value.timeIntervalSince1970 * 1000)
            )
        )
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
