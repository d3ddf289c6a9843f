import Foundation
import JWTKit

/// Signs tokens with the configured HS256 secret: `hawker token`, the demo and tests.
public struct TokenIssuer: Sendable {
    private let keys: JWTKeyCollection

    /// `hmacSecret` must have at least `TokenVerifier.minimumSecretBytes` bytes (the
    /// configuration checks it).
    public init(hmacSecret: String) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: hmacSecret), digestAlgorithm: .sha256)
        self.keys = keys
    }

    public func issue(_ claims: HawkerClaims) async throws -> String {
        try await keys.sign(claims)
    }

    /// A token for `subject` with `role` on `streams`, valid from now for `ttl` seconds.
    public func issue(subject: String, role: Role, streams: [String], merchant: String? = nil, name: String? = nil, ttl: TimeInterval, now: Date = Date()) async throws -> String {
        // NumericDate in whole seconds, which every JWT library reads.
        let issued = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        return try await issue(HawkerClaims(sub: subject, role: role, streams: streams, merchant: merchant, name: name, expiresAt: issued.addingTimeInterval(ttl.rounded()), issuedAt: issued))
    }
}
