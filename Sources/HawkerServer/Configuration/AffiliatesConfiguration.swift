/// Influencer codes (`affiliates.*` keys): how long a link's referral lasts, the key
/// that signs referral tickets, and the directory's bounds.
public struct AffiliatesConfiguration: Sendable, Hashable {
    /// How long a viewer who arrived through a code's link keeps it for their checkouts.
    public var referralWindowMilliseconds: Int64 = 604_800_000
    /// Signs referral tickets; every node of a cluster needs the same. nil: derived from
    /// `jwt.secret` (or a key of this process only, when tokens are checked by JWKS).
    public var referralSecret: String?
    /// Registered codes a gateway holds at most (each is in memory on every node).
    public var maxCodes = 100_000
    /// How often a node reads the codes other nodes registered (a shared outbox only).
    public var refreshMilliseconds: Int64 = 5_000

    public init() {}
}
