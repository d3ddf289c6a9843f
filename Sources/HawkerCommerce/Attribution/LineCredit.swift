/// What one order line owes an influencer: the code credited, who it pays, the
/// commission in the line's currency (minor units), and how the code came.
public struct LineCredit: Sendable, Hashable {
    public var code: String
    public var influencer: String
    public var commission: Int64
    public var source: AttributionCredit.Source

    public init(code: String, influencer: String, commission: Int64, source: AttributionCredit.Source) {
        self.code = code
        self.influencer = influencer
        self.commission = commission
        self.source = source
    }
}
