import Foundation
import JWTKit

/// The claims a Hawker token carries, as read by either path (`HS256Token` or jwt-kit's
/// `HawkerClaims`): plain values that `TokenVerifier` checks the same way.
struct TokenClaims: Equatable {
    var subject: String
    var role: String
    var streams: [String]?
    var merchant: String?
    var name: String?
    /// Seconds since 1970, as in the token (possibly fractional).
    var expiresAt: Double
    var notBefore: Double?
    var issuer: String?
}

extension TokenClaims {
    init(_ claims: HawkerClaims) {
        self.init(
            subject: claims.sub.value,
            role: claims.role,
            streams: claims.streams,
            merchant: claims.merchant,
            name: claims.name,
            expiresAt: claims.exp.value.timeIntervalSince1970,
            notBefore: claims.nbf?.value.timeIntervalSince1970,
            issuer: claims.iss?.value
        )
    }
}
