/// One product's state inside an `IntentAggregator`: lifetime totals for the whole stream,
/// window state only while the product has recent activity.
struct ProductIntentState: Sendable {
    /// Window counters and distinct users. Dropped by `prune` once a product has been idle for a
    /// full long window, so idle products cost only their totals.
    struct Windows: Sendable {
        /// Indexed by `IntentAction.ordinal`.
        var short: [SlidingWindowCounter]
        var long: [SlidingWindowCounter]
        var anyUsers: DistinctUserTracker
        var cartUsers: DistinctUserTracker
        var lastActivity: Int64

        init(configuration: IntentAggregator.Configuration, now: Int64) {
            let short = SlidingWindowCounter(
                window: IntentAggregator.shortWindowMillis,
                bucketMillis: configuration.shortBucketMillis)
            let long = SlidingWindowCounter(
                window: IntentAggregator.longWindowMillis,
                bucketMillis: configuration.longBucketMillis)
            let actions = IntentAction.allCases.count
            self.short = Array(repeating: short, count: actions)
            self.long = Array(repeating: long, count: actions)
            let capacity = configuration.maxTrackedUsersPerProduct
            anyUsers = DistinctUserTracker(capacity: capacity, short: short, long: long)
            cartUsers = DistinctUserTracker(capacity: capacity, short: short, long: long)
            lastActivity = now
        }

        func hasExpired(now: Int64) -> Bool {
            short[0].hasExpired(lastActivity, now: now) && long[0].hasExpired(lastActivity, now: now)
        }
    }

    /// Indexed by `IntentAction.ordinal`.
    var totals = Array(repeating: 0, count: IntentAction.allCases.count)
    private(set) var windows: Windows?

    var trackedUsers: Int {
        guard let windows else { return 0 }
        return windows.anyUsers.trackedUsers + windows.cartUsers.trackedUsers
    }

    /// `now` must not go backwards; the aggregator guarantees that.
    mutating func record(
        action: IntentAction, user: UInt64, now: Int64,
        configuration: IntentAggregator.Configuration
    ) {
        totals[action.ordinal] += 1
        if windows == nil { windows = Windows(configuration: configuration, now: now) }
        windows?.short[action.ordinal].add(at: now)
        windows?.long[action.ordinal].add(at: now)
        windows?.anyUsers.record(user: user, now: now)
        if action == .addToCart { windows?.cartUsers.record(user: user, now: now) }
        windows?.lastActivity = now
    }

    /// Any event still inside the long window.
    func isActive(now: Int64) -> Bool {
        guard let windows else { return false }
        return !windows.long[0].hasExpired(windows.lastActivity, now: now)
    }

    mutating func prune(now: Int64) {
        guard let current = windows else { return }
        if current.hasExpired(now: now) {
            // Every user was last seen at or before lastActivity, so nothing countable is lost.
            windows = nil
            return
        }
        windows?.anyUsers.prune(now: now)
        windows?.cartUsers.prune(now: now)
    }

    func summary(product: String, now: Int64) -> IntentAggregator.ProductSummary {
        var actions: [IntentAction: IntentAggregator.ProductSummary.ActionCounts] = [:]
        for action in IntentAction.allCases {
            let index = action.ordinal
            actions[action] = .init(
                count1m: windows?.short[index].count(now: now) ?? 0,
                count5m: windows?.long[index].count(now: now) ?? 0,
                total: totals[index])
        }
        let any = windows?.anyUsers.count(now: now) ?? (short: 0, long: 0)
        let cart = windows?.cartUsers.count(now: now) ?? (short: 0, long: 0)
        let lowerBound =
            (windows?.anyUsers.isLowerBound(now: now) ?? false)
            || (windows?.cartUsers.isLowerBound(now: now) ?? false)
        return .init(
            product: product, actions: actions,
            distinctUsers1m: any.short, distinctUsers5m: any.long,
            cartUsers1m: cart.short, cartUsers5m: cart.long,
            distinctCountsAreLowerBounds: lowerBound)
    }
}
