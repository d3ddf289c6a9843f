import HawkerProtocol

/// A registered code that may be credited with a checkout's lines: who it pays, at what
/// rate, for which merchants' products. The gateway's code directory hands these to the
/// room (`AttributionPolicy`), which credits each line with the first one that applies.
public struct AttributionCredit: Sendable, Hashable {
    /// How the code came to the checkout, in order of precedence.
    public enum Source: String, Sendable, Hashable {
        /// The buyer entered it at checkout (`attribution.code`).
        case code
        /// The buyer arrived through the code's link, within the referral window
        /// (`attribution.referral`).
        case referral
        /// The stream's host's own code, credited when the buyer brought none that applies.
        case host
    }

    /// Commission rates are basis points: 10,000 is the whole line.
    public static let maxBasisPoints: Int64 = 10_000

    public var code: String
    /// The influencer paid: the owner's token `sub`.
    public var influencer: String
    public var commissionBasisPoints: Int64
    /// Merchants whose products it applies to; nil: every merchant's.
    public var merchants: Set<String>?
    public var source: Source

    public init(code: String, influencer: String, commissionBasisPoints: Int64, merchants: Set<String>?, source: Source) {
        self.code = code
        self.influencer = influencer
        self.commissionBasisPoints = min(max(0, commissionBasisPoints), Self.maxBasisPoints)
        self.merchants = merchants
        self.source = source
    }

    public func applies(to merchant: String) -> Bool {
        merchants?.contains(merchant) ?? true
    }

    /// The commission on `amount` minor units, rounded down: split so that no product
    /// passes Int64 for any amount up to 2^53 − 1.
    public func commission(on amount: Int64) -> Int64 {
        guard amount > 0 else { return 0 }
        let whole = amount / Self.maxBasisPoints
        let rest = amount % Self.maxBasisPoints
        return whole * commissionBasisPoints + rest * commissionBasisPoints / Self.maxBasisPoints
    }
}
