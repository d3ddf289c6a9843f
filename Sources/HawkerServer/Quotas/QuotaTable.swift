import HawkerWebSocket
import NIOCore

/// What each user (a token's `sub`) holds across all its connections, streams and event
/// loops, against the per-user quotas; a value type, driven with the time passed in.
///
/// A user's row lives while it holds something or a rate bucket is still refilling:
/// `sweep` drops the rest, so the table is as large as the set of recently active users.
struct QuotaTable {
    enum Resource: Sendable {
        case connections, subscriptions, streams
    }

    enum Rate: Sendable {
        case chat, checkouts, httpRequests
    }

    private struct Row {
        var connections = 0
        var subscriptions = 0
        var streams = 0
        var chat: TokenBucket?
        var checkouts: TokenBucket?
        var httpRequests: TokenBucket?
        var lastUsed: NIODeadline

        var holdsNothing: Bool { connections == 0 && subscriptions == 0 && streams == 0 }
    }

    let limits: QuotaLimits
    private var rows: [String: Row] = [:]

    init(limits: QuotaLimits) {
        self.limits = limits
    }

    var trackedUsers: Int { rows.count }

    func limit(of resource: Resource) -> Int {
        switch resource {
        case .connections: return limits.connections
        case .subscriptions: return limits.subscriptions
        case .streams: return limits.streams
        }
    }

    func held(_ resource: Resource, by user: String) -> Int {
        guard let row = rows[user] else { return 0 }
        switch resource {
        case .connections: return row.connections
        case .subscriptions: return row.subscriptions
        case .streams: return row.streams
        }
    }

    /// Takes one of `resource` for `user`; false when the user holds its limit.
    mutating func acquire(_ resource: Resource, by user: String, now: NIODeadline) -> Bool {
        var row = rows[user] ?? Row(lastUsed: now)
        switch resource {
        case .connections:
            guard row.connections < limits.connections else { return false }
            row.connections += 1
        case .subscriptions:
            guard row.subscriptions < limits.subscriptions else { return false }
            row.subscriptions += 1
        case .streams:
            guard row.streams < limits.streams else { return false }
            row.streams += 1
        }
        row.lastUsed = now
        rows[user] = row
        return true
    }

    mutating func release(_ resource: Resource, by user: String, now: NIODeadline) {
        guard var row = rows[user] else { return }
        switch resource {
        case .connections: row.connections = max(0, row.connections - 1)
        case .subscriptions: row.subscriptions = max(0, row.subscriptions - 1)
        case .streams: row.streams = max(0, row.streams - 1)
        }
        row.lastUsed = now
        rows[user] = row
    }

    /// Takes one from `user`'s `rate` bucket: nil when allowed, else the milliseconds
    /// until a token is there.
    mutating func take(_ rate: Rate, by user: String, now: NIODeadline) -> Int64? {
        var row = rows[user] ?? Row(lastUsed: now)
        var bucket: TokenBucket
        switch rate {
        case .chat: bucket = row.chat ?? TokenBucket(ratePerSecond: Double(limits.chatPerMinute) / 60, burst: limits.chatBurst)
        case .checkouts: bucket = row.checkouts ?? TokenBucket(ratePerSecond: Double(limits.checkoutsPerMinute) / 60, burst: limits.checkoutBurst)
        case .httpRequests: bucket = row.httpRequests ?? TokenBucket(ratePerSecond: limits.httpRequestsPerSecond, burst: limits.httpRequestBurst)
        }
        let allowed = bucket.take(now: now)
        switch rate {
        case .chat: row.chat = bucket
        case .checkouts: row.checkouts = bucket
        case .httpRequests: row.httpRequests = bucket
        }
        row.lastUsed = now
        rows[user] = row
        return allowed ? nil : bucket.retryAfterMilliseconds()
    }

    /// How long an emptied bucket takes to fill up again (at least a minute).
    var refillTime: TimeAmount {
        let seconds = max(
            60,
            Double(limits.chatBurst) * 60 / Double(max(1, limits.chatPerMinute)),
            Double(limits.checkoutBurst) * 60 / Double(max(1, limits.checkoutsPerMinute)),
            Double(limits.httpRequestBurst) / max(1e-3, limits.httpRequestsPerSecond)
        )
        return .milliseconds(Int64(seconds.rounded(.up)) * 1_000)
    }

    /// Forgets users that hold nothing and were last seen a refill time ago: every
    /// bucket of theirs is full again by then, so a fresh row is the same as the old one.
    mutating func sweep(now: NIODeadline) {
        let idle = refillTime
        rows = rows.filter { !$0.value.holdsNothing || now - $0.value.lastUsed < idle }
    }
}
