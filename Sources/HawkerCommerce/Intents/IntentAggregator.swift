import HawkerProtocol

/// Live purchase-intent counters for one stream: per product, events per action over the last
/// 1 and 5 minutes, distinct users over the same windows, and lifetime totals.
///
/// Time is passed in as `now` (ms since the Unix epoch) and treated as monotonic: a `now`
/// older than one already seen by `record` or `prune` is taken as the newest seen, so a clock
/// step back cannot count a user twice. Reads are meant for the current time: a read at a `now`
/// earlier than recorded events ignores those events, and buckets they reused are gone.
///
/// Window edges follow `SlidingWindowCounter`: bucket-aligned events are counted in
/// `(now - window, now]`, unaligned ones may expire up to one bucket early.
///
/// Memory: products are never forgotten (their lifetime totals feed insights) but are capped at
/// `maxProducts`; window state is fixed-size per active product and released after five idle
/// minutes; distinct-user tables are capped per product and emptied by `prune`.
public struct IntentAggregator: Sendable {
    public static let shortWindowMillis: Int64 = 60_000
    public static let longWindowMillis: Int64 = 300_000

    public struct Configuration: Sendable, Hashable {
        /// New products beyond this are refused; existing ones keep counting.
        public var maxProducts: Int
        /// Per product and per distinct count (any action, add to cart). Beyond it new users are
        /// not tracked and distinct counts become lower bounds (see
        /// `ProductSummary.distinctCountsAreLowerBounds`); event counts stay exact.
        public var maxTrackedUsersPerProduct: Int
        /// Bucket width of the 1-minute window; must divide 60 000. Default 1 s.
        public var shortBucketMillis: Int64
        /// Bucket width of the 5-minute window; must divide 300 000. Default 5 s.
        public var longBucketMillis: Int64

        public init(
            maxProducts: Int = 500,
            maxTrackedUsersPerProduct: Int = 10_000,
            shortBucketMillis: Int64 = 1_000,
            longBucketMillis: Int64 = 5_000
        ) {
            self.maxProducts = maxProducts
            self.maxTrackedUsersPerProduct = maxTrackedUsersPerProduct
            self.shortBucketMillis = shortBucketMillis
            self.longBucketMillis = longBucketMillis
        }
    }

    public enum RecordResult: Sendable, Hashable {
        case recorded
        case tooManyProducts
    }

    public let configuration: Configuration
    /// Bumps on every recorded event, so the caller pushes only when it changed. Counts also
    /// decay as time passes without a bump; a periodic push covers that.
    public private(set) var version: UInt64 = 0
    var products: [String: ProductIntentState] = [:]
    private var clock: Int64 = .min

    public init(configuration: Configuration = Configuration()) {
        precondition(
            configuration.maxProducts >= 0 && configuration.maxTrackedUsersPerProduct >= 0,
            "limits must not be negative")
        precondition(
            configuration.shortBucketMillis > 0
                && Self.shortWindowMillis % configuration.shortBucketMillis == 0,
            "shortBucketMillis must divide 60 000")
        precondition(
            configuration.longBucketMillis > 0
                && Self.longWindowMillis % configuration.longBucketMillis == 0,
            "longBucketMillis must divide 300 000")
        self.configuration = configuration
    }

    /// Products known to this stream (at most `maxProducts`).
    public var productCount: Int { products.count }

    /// Every product with intents, sorted, for insights.
    public var productIDs: [String] { products.keys.sorted() }

    /// Distinct-user entries held across all products, for memory metrics.
    public var trackedUserCount: Int { products.values.reduce(0) { $0 + $1.trackedUsers } }

    /// Records one intent. `variant` is accepted for the wire shape but counted at product level.
    public mutating func record(
        product: String, variant: String?, action: IntentAction,
        user: String, now: Int64
    ) -> RecordResult {
        if products[product] == nil, products.count >= configuration.maxProducts {
            return .tooManyProducts
        }
        let now = advanceClock(to: now)
        products[product, default: ProductIntentState()]
            .record(action: action, user: FNV1a.hash(user), now: now, configuration: configuration)
        version &+= 1
        return .recorded
    }

    /// Products with any event in the last 5 minutes, most added-to-cart in the last minute
    /// first, ties by product id.
    public func summary(now: Int64) -> [ProductSummary] {
        products
            .filter { $0.value.isActive(now: now) }
            .map { $0.value.summary(product: $0.key, now: now) }
            .sorted {
                let lhs = $0[.addToCart].count1m, rhs = $1[.addToCart].count1m
                return lhs != rhs ? lhs > rhs : $0.product < $1.product
            }
    }

    /// One product's summary, even when idle (then only totals are non-zero); nil if unknown.
    public func summary(of product: String, now: Int64) -> ProductSummary? {
        products[product]?.summary(product: product, now: now)
    }

    /// Lifetime totals per action for the stream; every action present for a known product,
    /// empty for an unknown one.
    public func totals(product: String) -> [IntentAction: Int] {
        guard let state = products[product] else { return [:] }
        var totals: [IntentAction: Int] = [:]
        for action in IntentAction.allCases { totals[action] = state.totals[action.ordinal] }
        return totals
    }

    /// Drops users and window state that can no longer count, so memory tracks recent activity.
    /// Call from a periodic tick (every few seconds); counts are unaffected by when it runs.
    public mutating func prune(now: Int64) {
        let now = advanceClock(to: now)
        // Walk by index so each product is mutated in place rather than copied.
        var index = products.values.startIndex
        while index != products.values.endIndex {
            products.values[index].prune(now: now)
            products.values.formIndex(after: &index)
        }
    }

    private mutating func advanceClock(to now: Int64) -> Int64 {
        clock = max(clock, now)
        return clock
    }
}
