import NIOCore
import Testing

@testable import HawkerServer

/// Per-user quotas without sockets, on an injected clock.
@Suite struct QuotaTableTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    private var limits: QuotaLimits {
        var limits = QuotaLimits()
        limits.connections = 2
        limits.subscriptions = 3
        limits.streams = 1
        limits.chatPerMinute = 60
        limits.chatBurst = 2
        limits.checkoutsPerMinute = 6
        limits.checkoutBurst = 1
        limits.httpRequestsPerSecond = 10
        limits.httpRequestBurst = 5
        return limits
    }

    private func acquire(_ table: inout QuotaTable, _ resource: QuotaTable.Resource, by user: String, now: NIODeadline) -> Bool {
        table.acquire(resource, by: user, now: now)
    }

    private func take(_ table: inout QuotaTable, _ rate: QuotaTable.Rate, by user: String, now: NIODeadline) -> Int64? {
        table.take(rate, by: user, now: now)
    }

    @Test func resourcesAreHeldUpToTheLimitPerUser() {
        var table = QuotaTable(limits: limits)
        #expect(acquire(&table, .connections, by: "ana", now: start))
        #expect(acquire(&table, .connections, by: "ana", now: start))
        #expect(!acquire(&table, .connections, by: "ana", now: start))
        #expect(acquire(&table, .connections, by: "ben", now: start), "users are apart")
        table.release(.connections, by: "ana", now: start)
        #expect(acquire(&table, .connections, by: "ana", now: start))
        for _ in 0..<3 { #expect(acquire(&table, .subscriptions, by: "ana", now: start)) }
        #expect(!acquire(&table, .subscriptions, by: "ana", now: start))
        #expect(table.held(.subscriptions, by: "ana") == 3)
        #expect(acquire(&table, .streams, by: "ana", now: start))
        #expect(!acquire(&table, .streams, by: "ana", now: start))
        // Releasing what is not held never goes below zero.
        for _ in 0..<5 { table.release(.streams, by: "cy", now: start) }
        #expect(table.held(.streams, by: "cy") == 0)
    }

    @Test func ratesRefillAndSayHowLongToWait() {
        var table = QuotaTable(limits: limits)
        #expect(take(&table, .chat, by: "ana", now: start) == nil)
        #expect(take(&table, .chat, by: "ana", now: start) == nil)
        let wait = take(&table, .chat, by: "ana", now: start)
        #expect(wait == 1_000, "one message a second refills the bucket")
        #expect(take(&table, .chat, by: "ana", now: start + .seconds(1)) == nil)
        #expect(take(&table, .checkouts, by: "ana", now: start) == nil)
        #expect(take(&table, .checkouts, by: "ana", now: start) == 10_000)
        for _ in 0..<5 { #expect(take(&table, .httpRequests, by: "ana", now: start) == nil) }
        #expect(take(&table, .httpRequests, by: "ana", now: start) == 100)
        #expect(take(&table, .httpRequests, by: "ben", now: start) == nil)
    }

    /// Rows of users that hold nothing go once every bucket of theirs has refilled; the
    /// table holds the recently active users, not everyone ever seen.
    @Test func quietUsersAreForgottenAndHoldersKept() {
        var table = QuotaTable(limits: limits)
        _ = table.take(.chat, by: "chatter", now: start)
        #expect(acquire(&table, .connections, by: "holder", now: start))
        #expect(table.trackedUsers == 2)
        table.sweep(now: start + .seconds(30))
        #expect(table.trackedUsers == 2, "the chatter's bucket may still be refilling")
        table.sweep(now: start + table.refillTime)
        #expect(table.trackedUsers == 1)
        #expect(table.held(.connections, by: "holder") == 1)
    }

    @Test func theRefillTimeCoversTheSlowestBucket() {
        var slow = limits
        slow.checkoutsPerMinute = 1
        slow.checkoutBurst = 100
        #expect(QuotaTable(limits: slow).refillTime == .seconds(6_000))
        #expect(QuotaTable(limits: limits).refillTime == .seconds(60))
    }
}
