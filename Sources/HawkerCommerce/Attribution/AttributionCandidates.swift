/// What the code directory makes of a checkout's attribution before the room decides:
/// the codes that may be credited, in order of precedence (the buyer's entered code, their
/// referral, the host's codes), and why the buyer's entered code or referral was left out.
public struct AttributionCandidates: Sendable, Hashable {
    public var credits: [AttributionCredit]
    /// Why `attribution.code` is no candidate (unknown, inactive, not for the stream).
    public var declinedCode: AttributionDeclined?
    /// Why `attribution.referral` is no candidate (not ours, expired, its code not usable).
    public var declinedReferral: AttributionDeclined?

    public init(credits: [AttributionCredit] = [], declinedCode: AttributionDeclined? = nil, declinedReferral: AttributionDeclined? = nil) {
        self.credits = credits
        self.declinedCode = declinedCode
        self.declinedReferral = declinedReferral
    }

    /// Nothing to credit, nothing declined (no claim, no host code, or no directory).
    public static let empty = AttributionCandidates()
}
