/// What viewers who came through an influencer's code did before buying, in one stream on
/// one day (UTC, days since the epoch): visits (arrived through its link and watched) and
/// add-to-carts. Counted by the gateway (`FunnelRecorder`), kept with the earnings.
public struct FunnelCount: Sendable, Hashable {
    public var influencer: String
    public var code: String
    public var stream: String
    public var day: Int64
    public var visits: Int64
    public var addToCart: Int64

    public init(influencer: String, code: String, stream: String, day: Int64, visits: Int64, addToCart: Int64) {
        self.influencer = influencer
        self.code = code
        self.stream = stream
        self.day = day
        self.visits = visits
        self.addToCart = addToCart
    }

    public static let dayMilliseconds: Int64 = 86_400_000
}

extension EarningsReport {
    /// The funnel's rows (stream, code, visits, add-to-carts) merged into the tallies of
    /// checkouts, sorted by stream and code; a code with visits and no checkout gets a
    /// tally of its own.
    static func merge(_ tallies: [Tally], funnel: [(stream: String, code: String, visits: Int64, addToCart: Int64)]) -> [Tally] {
        var merged: [String: Tally] = [:]
        for tally in tallies { merged["\(tally.stream)\u{0}\(tally.code)"] = tally }
        for row in funnel {
            let key = "\(row.stream)\u{0}\(row.code)"
            var tally = merged[key] ?? Tally(stream: row.stream, code: row.code, checkouts: 0, confirmedOrders: 0, failedOrders: 0)
            tally.visits = row.visits
            tally.addToCart = row.addToCart
            merged[key] = tally
        }
        return merged.values.sorted { ($0.stream, $0.code) < ($1.stream, $1.code) }
    }

    /// The days a report of `since ..< until` covers (a day counts when it overlaps).
    static func days(since: Int64, until: Int64) -> ClosedRange<Int64> {
        (since / FunnelCount.dayMilliseconds)...(max(since, until - 1) / FunnelCount.dayMilliseconds)
    }
}
