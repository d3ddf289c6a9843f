/// What the code directory makes of a checkout's attribution before the room decides:
/// the codes that may be credited, in order of precedence (the buyer's entered code, their
/// referral, the host's codes), and why the buyer's own was left out, if it was.
public struct AttributionCandidates: Sendable, Hashable {
    public var credits: [AttributionCredit]
    public var declined: AttributionDeclined?

    public init(credits: [AttributionCredit] = [], declined: AttributionDeclined? = nil) {
        self.credits = credits
        self.declined = declined
    }

    public static let none = AttributionCandidates()
}
