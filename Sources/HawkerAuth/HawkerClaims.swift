import Foundation
import JWTKit

/// The claims of a Hawker token.
public struct HawkerClaims: JWTPayload, Equatable {
    public var sub: SubjectClaim
    public var role: String
    public var streams: [String]?
    public var merchant: String?
    /// The display name shown next to the user's chat messages.
    public var name: String?
    public var exp: ExpirationClaim
    public var nbf: NotBeforeClaim?
    public var iat: IssuedAtClaim?
    public var iss: IssuerClaim?

    public init(sub: String, role: Role, streams: [String], merchant: String? = nil, name: String? = nil, expiresAt: Date, notBefore: Date? = nil, issuedAt: Date? = nil) {
        self.sub = SubjectClaim(value: sub)
        self.role = role.rawValue
        self.streams = streams
        self.merchant = merchant
        self.name = name
        self.exp = ExpirationClaim(value: expiresAt)
        self.nbf = notBefore.map { NotBeforeClaim(value: $0) }
        self.iat = issuedAt.map { IssuedAtClaim(value: $0) }
    }

    /// Time claims are checked by `TokenVerifier` against its injected clock, so this only
    /// accepts what the signature check already vouched for.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}
