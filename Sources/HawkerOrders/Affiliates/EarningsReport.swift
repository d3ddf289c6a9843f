/// What an influencer's codes earned over a time range, from the outbox's record of every
/// credited order line (`Outbox.earnings`): sums by stream, code, product and currency,
/// by status, and over time. Amounts are minor units of their currency, never mixed.
public struct EarningsReport: Sendable, Hashable {
    /// Where a credited line stands: its merchant's order is on its way, confirmed, or
    /// failed (rejected, or given up on; a re-driven one is pending again).
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case pending
        case confirmed
        case failed
        /// Units the merchant took back after confirming (cancelled or returned): their
        /// revenue and commission, no longer in `confirmed`.
        case returned
    }

    /// Lines of one product, sold through one code in one stream, in one status.
    public struct Group: Sendable, Hashable {
        public var stream: String
        public var code: String
        public var product: String
        public var currency: String
        public var status: Status
        public var quantity: Int64
        public var amount: Int64
        public var commission: Int64

        public init(stream: String, code: String, product: String, currency: String, status: Status, quantity: Int64, amount: Int64, commission: Int64) {
            self.stream = stream
            self.code = code
            self.product = product
            self.currency = currency
            self.status = status
            self.quantity = quantity
            self.amount = amount
            self.commission = commission
        }
    }

    /// Checkouts that credited one code in one stream, and the merchants' orders among
    /// them confirmed and failed (a checkout of two merchants is two orders); before them,
    /// the code's visitors and their add-to-carts there (`FunnelCount`).
    public struct Tally: Sendable, Hashable {
        public var stream: String
        public var code: String
        public var checkouts: Int64
        public var confirmedOrders: Int64
        public var failedOrders: Int64
        public var visits: Int64 = 0
        public var addToCart: Int64 = 0

        public init(stream: String, code: String, checkouts: Int64, confirmedOrders: Int64, failedOrders: Int64) {
            self.stream = stream
            self.code = code
            self.checkouts = checkouts
            self.confirmedOrders = confirmedOrders
            self.failedOrders = failedOrders
        }
    }

    /// One stream's lines in one status, in one span of time (from `start`, for the
    /// report's bucket length): when in the show the sales happened.
    public struct Bucket: Sendable, Hashable {
        public var stream: String
        public var currency: String
        public var status: Status
        public var start: Int64
        public var quantity: Int64
        public var amount: Int64
        public var commission: Int64

        public init(stream: String, currency: String, status: Status, start: Int64, quantity: Int64, amount: Int64, commission: Int64) {
            self.stream = stream
            self.currency = currency
            self.status = status
            self.start = start
            self.quantity = quantity
            self.amount = amount
            self.commission = commission
        }
    }

    /// Everything in one currency and status: never cut, whatever the other parts are.
    public struct Total: Sendable, Hashable {
        public var currency: String
        public var status: Status
        public var quantity: Int64
        public var amount: Int64
        public var commission: Int64

        public init(currency: String, status: Status, quantity: Int64, amount: Int64, commission: Int64) {
            self.currency = currency
            self.status = status
            self.quantity = quantity
            self.amount = amount
            self.commission = commission
        }
    }

    /// Rows one report holds at most per part (the timeline keeps the newest): past it,
    /// `truncated` is set.
    public static let maxRows = 10_000

    public var totals: [Total]
    public var groups: [Group]
    public var tallies: [Tally]
    public var timeline: [Bucket]
    public var truncated: Bool

    public init(totals: [Total] = [], groups: [Group] = [], tallies: [Tally] = [], timeline: [Bucket] = [], truncated: Bool = false) {
        self.totals = totals
        self.groups = groups
        self.tallies = tallies
        self.timeline = timeline
        self.truncated = truncated
    }
}

extension EarningsReport.Status {
    /// What a delivery's outcome makes of its credited lines; nil while it is retried.
    init?(_ outcome: DeliveryOutcome) {
        switch outcome {
        case .confirmed: self = .confirmed
        case .rejected, .deadLetter: self = .failed
        case .retry: return nil
        }
    }
}
