import HawkerCommerce
import Testing

@Suite("IntentAggregator")
struct IntentAggregatorTests {
    /// Aligned to both bucket widths so edge tests are exact.
    let t0: Int64 = 1_700_000_000_000

    private func seconds(_ s: Int64) -> Int64 { t0 + s * 1_000 }

    @Test func windowsFollowTheInjectedClock() throws {
        var aggregator = IntentAggregator()
        func add(_ user: String, at s: Int64) {
            #expect(aggregator.record(product: "p1", variant: nil, action: .addToCart, user: user, now: seconds(s)) == .recorded)
        }
        func cart(at s: Int64) throws -> IntentAggregator.ProductSummary.ActionCounts {
            try #require(aggregator.summary(of: "p1", now: seconds(s)))[.addToCart]
        }
        add("u0", at: 0)
        #expect(try cart(at: 0) == .init(count1m: 1, count5m: 1, total: 1))
        add("u1", at: 30)
        #expect(try cart(at: 30) == .init(count1m: 2, count5m: 2, total: 2))
        #expect(try cart(at: 60) == .init(count1m: 1, count5m: 2, total: 2))
        add("u2", at: 90)
        #expect(try cart(at: 90) == .init(count1m: 1, count5m: 3, total: 3))
        #expect(try cart(at: 149) == .init(count1m: 1, count5m: 3, total: 3))
        #expect(try cart(at: 150) == .init(count1m: 0, count5m: 3, total: 3))
        add("u3", at: 301)
        // At t+301 s only the t+0 s event has left the 5-minute window.
        #expect(try cart(at: 301) == .init(count1m: 1, count5m: 3, total: 4))
        let late = try #require(aggregator.summary(of: "p1", now: seconds(301)))
        #expect(late.cartUsers1m == 1)
        #expect(late.cartUsers5m == 3)
        #expect(late.distinctUsers5m == 3)
        #expect(late[.view] == .init())
        #expect(try cart(at: 700) == .init(count1m: 0, count5m: 0, total: 4))
    }

    @Test func windowEdgesAreExclusiveOfTheOldestInstant() throws {
        var aggregator = IntentAggregator()
        _ = aggregator.record(product: "p", variant: "red", action: .addToCart, user: "u", now: t0)
        let in1m = try #require(aggregator.summary(of: "p", now: t0 + 59_999))
        #expect(in1m[.addToCart].count1m == 1)
        #expect(in1m.cartUsers1m == 1)
        #expect(in1m.distinctUsers1m == 1)
        let out1m = try #require(aggregator.summary(of: "p", now: t0 + 60_000))
        #expect(out1m[.addToCart].count1m == 0)
        #expect(out1m.cartUsers1m == 0)
        #expect(out1m.distinctUsers1m == 0)
        #expect(out1m[.addToCart].count5m == 1)
        let in5m = try #require(aggregator.summary(of: "p", now: t0 + 299_999))
        #expect(in5m[.addToCart].count5m == 1)
        #expect(in5m.distinctUsers5m == 1)
        let out5m = try #require(aggregator.summary(of: "p", now: t0 + 300_000))
        #expect(out5m[.addToCart].count5m == 0)
        #expect(out5m.distinctUsers5m == 0)
        #expect(aggregator.summary(now: t0 + 299_999).map(\.product) == ["p"])
        #expect(aggregator.summary(now: t0 + 300_000).isEmpty)
    }

    @Test func repeatedActionsByOneUserCountOncePerWindow() throws {
        var aggregator = IntentAggregator()
        for i in 0..<5 {
            _ = aggregator.record(product: "p", variant: nil, action: .addToCart, user: "alice", now: seconds(Int64(i)))
        }
        _ = aggregator.record(product: "p", variant: nil, action: .view, user: "bob", now: seconds(5))
        _ = aggregator.record(product: "p", variant: nil, action: .addToCart, user: "alice", now: seconds(50))

        let summary = try #require(aggregator.summary(of: "p", now: seconds(70)))
        #expect(summary[.addToCart].count1m == 1)  // only the t+50 s add is within the minute
        #expect(summary[.addToCart].count5m == 6)
        #expect(summary.cartUsers1m == 1)  // alice moved to her latest bucket
        #expect(summary.cartUsers5m == 1)
        #expect(summary.distinctUsers1m == 1)  // bob's view at t+5 s has left the minute
        #expect(summary.distinctUsers5m == 2)
        #expect(!summary.distinctCountsAreLowerBounds)
    }

    @Test func refusesNewProductsBeyondTheLimit() {
        var aggregator = IntentAggregator(configuration: .init(maxProducts: 2))
        #expect(aggregator.record(product: "a", variant: nil, action: .view, user: "u", now: t0) == .recorded)
        #expect(aggregator.record(product: "b", variant: nil, action: .view, user: "u", now: t0) == .recorded)
        let version = aggregator.version
        #expect(aggregator.record(product: "c", variant: nil, action: .view, user: "u", now: t0) == .tooManyProducts)
        #expect(aggregator.version == version)
        #expect(aggregator.record(product: "a", variant: nil, action: .purchase, user: "u", now: t0) == .recorded)
        #expect(aggregator.version == version + 1)
        #expect(aggregator.productCount == 2)
        #expect(aggregator.summary(of: "c", now: t0) == nil)
        #expect(aggregator.totals(product: "a")[.purchase] == 1)
        #expect(aggregator.totals(product: "c").isEmpty)
    }

    @Test func distinctUsersSaturateAsLowerBounds() throws {
        var aggregator = IntentAggregator(configuration: .init(maxTrackedUsersPerProduct: 3))
        for user in 0..<5 {
            _ = aggregator.record(product: "p", variant: nil, action: .addToCart, user: "u\(user)", now: t0)
        }
        let full = try #require(aggregator.summary(of: "p", now: t0))
        #expect(full[.addToCart].count1m == 5)  // event counts stay exact
        #expect(full.cartUsers1m == 3)
        #expect(full.distinctUsers5m == 3)
        #expect(full.distinctCountsAreLowerBounds)
        #expect(aggregator.trackedUserCount == 6)

        aggregator.prune(now: t0 + 300_000)
        #expect(aggregator.trackedUserCount == 0)
        _ = aggregator.record(product: "p", variant: nil, action: .addToCart, user: "u4", now: t0 + 300_000)
        let recovered = try #require(aggregator.summary(of: "p", now: t0 + 300_000))
        #expect(recovered.cartUsers1m == 1)
        #expect(!recovered.distinctCountsAreLowerBounds)
    }

    @Test func pruneBoundsMemoryWithoutChangingCounts() throws {
        var aggregator = IntentAggregator()
        for user in 0..<100 {
            _ = aggregator.record(product: "p", variant: nil, action: .addToCart, user: "u\(user)", now: t0)
        }
        #expect(aggregator.trackedUserCount == 200)  // any-action and add-to-cart tables

        let before = aggregator.summary(of: "p", now: seconds(240))
        aggregator.prune(now: seconds(240))
        #expect(aggregator.trackedUserCount == 200)  // still inside the 5-minute window
        #expect(aggregator.summary(of: "p", now: seconds(240)) == before)

        aggregator.prune(now: seconds(300))
        #expect(aggregator.trackedUserCount == 0)
        let idle = try #require(aggregator.summary(of: "p", now: seconds(300)))
        #expect(idle[.addToCart] == .init(count1m: 0, count5m: 0, total: 100))
        #expect(idle.distinctUsers5m == 0)
    }

    @Test func userReturningAfterPruneIsCountedOnce() throws {
        var aggregator = IntentAggregator()
        _ = aggregator.record(product: "p", variant: nil, action: .view, user: "u", now: t0)
        _ = aggregator.record(product: "p", variant: nil, action: .view, user: "v", now: seconds(200))
        aggregator.prune(now: seconds(301))
        #expect(aggregator.trackedUserCount == 1)
        _ = aggregator.record(product: "p", variant: nil, action: .view, user: "u", now: seconds(302))
        let summary = try #require(aggregator.summary(of: "p", now: seconds(302)))
        #expect(summary.distinctUsers5m == 2)
        #expect(summary.distinctUsers1m == 1)
    }

    @Test func clockGoingBackwardsIsTreatedAsTheLatestTime() throws {
        var aggregator = IntentAggregator()
        _ = aggregator.record(product: "p", variant: nil, action: .addToCart, user: "u", now: seconds(100))
        _ = aggregator.record(product: "p", variant: nil, action: .addToCart, user: "u", now: seconds(10))
        let summary = try #require(aggregator.summary(of: "p", now: seconds(100)))
        #expect(summary[.addToCart].count1m == 2)
        #expect(summary.cartUsers1m == 1)
        let later = try #require(aggregator.summary(of: "p", now: seconds(160)))
        #expect(later[.addToCart].count1m == 0)
    }

    @Test func summariesAreSortedByAddsInTheLastMinuteThenProductId() {
        var aggregator = IntentAggregator()
        func record(_ product: String, _ action: IntentAction, times: Int, at now: Int64) {
            for i in 0..<times {
                _ = aggregator.record(product: product, variant: nil, action: action, user: "\(product)-\(i)", now: now)
            }
        }
        record("stale", .addToCart, times: 9, at: t0)
        record("old-adds", .addToCart, times: 5, at: seconds(100))
        record("a", .addToCart, times: 1, at: seconds(280))
        record("c", .addToCart, times: 3, at: seconds(290))
        record("b", .addToCart, times: 3, at: seconds(295))
        record("views", .view, times: 7, at: seconds(299))

        let summary = aggregator.summary(now: seconds(300))
        #expect(summary.map(\.product) == ["b", "c", "a", "old-adds", "views"])
        #expect(summary.first?.cartUsers1m == 3)
        #expect(aggregator.totals(product: "stale")[.addToCart] == 9)
    }

    @Test func versionBumpsOnEveryRecord() {
        var aggregator = IntentAggregator()
        #expect(aggregator.version == 0)
        _ = aggregator.record(product: "p", variant: nil, action: .view, user: "u", now: t0)
        _ = aggregator.record(product: "p", variant: nil, action: .view, user: "u", now: t0)
        #expect(aggregator.version == 2)
        aggregator.prune(now: t0 + 1_000_000)
        #expect(aggregator.version == 2)
    }

    @Test func actionWireNames() {
        #expect(IntentAction(rawValue: "add_to_cart") == .addToCart)
        #expect(IntentAction(rawValue: "remove_from_cart") == .removeFromCart)
        #expect(IntentAction.allCases.map(\.rawValue) == ["view", "add_to_cart", "remove_from_cart", "checkout", "purchase"])
    }
}
