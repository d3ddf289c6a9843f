import HawkerHub
import NIOConcurrencyHelpers
import NIOCore

/// The per-user quotas of one gateway, shared by every connection and event loop (a
/// lock around `QuotaTable`): connections, subscriptions and streams a user holds, and
/// its chat, checkout and HTTP request rates. Anonymous viewers have no user and are
/// bounded per connection and per address instead; admins are exempt from the stream
/// quota (operators create streams for others).
final class UserQuotas: StreamOwnership, Sendable {
    private let table: NIOLockedValueBox<QuotaTable>
    private let clock: @Sendable () -> NIODeadline

    init(limits: QuotaLimits, clock: @escaping @Sendable () -> NIODeadline = { .now() }) {
        self.table = NIOLockedValueBox(QuotaTable(limits: limits))
        self.clock = clock
    }

    var limits: QuotaLimits { table.withLockedValue { $0.limits } }

    func acquire(_ resource: QuotaTable.Resource, by user: String) -> Bool {
        let now = clock()
        return table.withLockedValue { $0.acquire(resource, by: user, now: now) }
    }

    func release(_ resource: QuotaTable.Resource, by user: String) {
        let now = clock()
        table.withLockedValue { $0.release(resource, by: user, now: now) }
    }

    /// nil when allowed, else the milliseconds until it would be.
    func take(_ rate: QuotaTable.Rate, by user: String) -> Int64? {
        let now = clock()
        return table.withLockedValue { $0.take(rate, by: user, now: now) }
    }

    func held(_ resource: QuotaTable.Resource, by user: String) -> Int {
        table.withLockedValue { $0.held(resource, by: user) }
    }

    var trackedUsers: Int { table.withLockedValue { $0.trackedUsers } }

    /// Drops the rows of users gone quiet; the gateway calls it once a minute.
    func sweep() {
        let now = clock()
        table.withLockedValue { $0.sweep(now: now) }
    }

    // MARK: - StreamOwnership

    func claimStream(for owner: String) -> Bool {
        acquire(.streams, by: owner)
    }

    func releaseStream(of owner: String) {
        release(.streams, by: owner)
    }
}
