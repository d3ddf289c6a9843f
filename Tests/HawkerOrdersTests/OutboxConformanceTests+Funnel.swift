import HawkerCommerce
import HawkerOrders
import HawkerProtocol
import Testing

/// Influencers' funnels, in every outbox: counts add up per code, stream and day, and the
/// earnings report reads them beside the checkouts.
extension OutboxConformanceTests {
    @Test(arguments: kinds) func funnelCountsAddUpAndShowBesideTheCheckouts(_ kind: Kind) async throws {
        try await withOutbox(kind) { open in
            let outbox = try open()
            var reservation = outboxReservation("c1", merchants: ["m1"], at: 2 * FunnelCount.dayMilliseconds + 5)
            reservation.lines[0].credit = LineCredit(code: "ANNA10", influencer: "anna", commission: 10, source: .referral)
            try await outbox.append(reservation, stream: shop)
            let day = Int64(2)
            try await outbox.recordFunnel([
                FunnelCount(influencer: "anna", code: "ANNA10", stream: "shop", day: day, visits: 3, addToCart: 1),
                FunnelCount(influencer: "anna", code: "ANNA10", stream: "tea", day: day, visits: 1, addToCart: 0),
                FunnelCount(influencer: "luca", code: "LUCA5", stream: "shop", day: day, visits: 7, addToCart: 2),
            ])
            try await open().recordFunnel([FunnelCount(influencer: "anna", code: "ANNA10", stream: "shop", day: day, visits: 2, addToCart: 2)])
            // An earlier day, outside the report's window.
            try await outbox.recordFunnel([FunnelCount(influencer: "anna", code: "ANNA10", stream: "shop", day: 0, visits: 50, addToCart: 50)])
            let report = try await open().earnings(
                of: "anna", since: day * FunnelCount.dayMilliseconds, until: (day + 1) * FunnelCount.dayMilliseconds, bucketMilliseconds: 60_000)
            #expect(report.tallies.map(\.stream) == ["shop", "tea"])
            #expect(report.tallies.map(\.visits) == [5, 1])
            #expect(report.tallies.map(\.addToCart) == [3, 0])
            #expect(report.tallies.map(\.checkouts) == [1, 0], "the tea stream had visits and no checkout")
            try await outbox.recordFunnel([])
        }
    }
}
