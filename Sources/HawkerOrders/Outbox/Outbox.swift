import HawkerCommerce
import HawkerProtocol

/// Where accepted checkouts are kept until every merchant has its order: the seam between
/// the checkout path, the relay and the buyers' notices. `SQLiteOutbox` is a single
/// gateway's (a file in its data directory); `PostgresOutbox` is shared by the nodes of a
/// cluster, so that a dead node's accepted checkouts are delivered by the others. Both pass
/// `OutboxConformanceTests`.
///
/// Every write returns once it is durable: a buyer is told "accepted" only for what a
/// `kill -9` right after cannot lose. Times are milliseconds since the Unix epoch.
public protocol Outbox: Sendable {
    /// True when other gateway processes use the same outbox: the relay then claims what it
    /// delivers (`claim`), and leaves alone the orders of merchants it cannot reach.
    var isShared: Bool { get }

    /// False only when `buyer` surely stored nothing under `idempotencyKey` (most new
    /// checkouts), so that the lookup can be skipped.
    func mayHaveAccepted(buyer: String, idempotencyKey: String) -> Bool

    /// Writes `reservation` and one delivery per party (`Reservation.parties`): a pending
    /// sale per seller, and a held shipment per supplier and seller. Returns what
    /// is stored: `reservation`, or the checkout the same buyer made earlier with the same
    /// idempotency key (or the same id); then nothing new is written. `trace` is the
    /// checkout's trace context, kept for its deliveries (`OutboxDelivery.traceContext`).
    @discardableResult
    func append(_ reservation: Reservation, stream: StreamID, trace: [String: String]) async throws -> Reservation

    /// The checkout `buyer` made with `idempotencyKey`, if one was accepted, and its stream.
    func accepted(buyer: String, idempotencyKey: String) async throws -> (reservation: Reservation, stream: StreamID)?

    /// Pending deliveries due at `now`, oldest attempt first, without those whose
    /// idempotency key is in `excluding`. Reads only: see `claim` for the relay.
    func due(now: Int64, limit: Int, excluding: Set<String>) async throws -> [OutboxDelivery]

    /// What a relay takes to deliver now: due deliveries that no other relay claimed, each
    /// then claimed by this one until `now + claimMilliseconds` (until its outcome is
    /// recorded, or the claim lapses because this relay died). Leaves out `excluding`
    /// (out already) and the merchants in `skipping`, unless their delivery is older than
    /// `skippingUnlessBefore` (so that somebody gives up on them in time).
    func claim(
        now: Int64, limit: Int, claimMilliseconds: Int64, excluding: Set<String>, skipping: Set<String>, skippingUnlessBefore: Int64
    ) async throws -> [OutboxDelivery]

    /// Every delivery of `checkoutID`.
    func deliveries(of checkoutID: String) async throws -> [OutboxDelivery]

    /// Checkouts a restarted gateway's rooms may not know all of: created after `since`, or
    /// with a part still on its way or recorded after `since`; the newest `limit`, oldest
    /// first.
    func checkouts(touchedSince since: Int64, limit: Int) async throws -> [StoredCheckout]

    /// `buyer`'s checkouts, newest first: at most `limit`, from the one after `after` (a
    /// checkout id of an earlier page) on. Each with its parts' outcomes and the merchants'
    /// latest status updates. Kept as long as the outbox keeps checkouts
    /// (`orders.retention_ms` after they settled).
    func history(of buyer: String, after: String?, limit: Int) async throws -> BuyerOrder.Page

    /// Records `reversal` of a confirmed order once per id, and in the same commit takes
    /// the units' revenue and commission out of the influencers' confirmed earnings (into
    /// `returned`), and accepts the buyer's request it names (`PartReversal.request`). A
    /// retry with the same id returns what was recorded (`replayed`).
    func reverse(_ reversal: PartReversal, now: Int64) async throws -> Result<ReversalRecord, PartReversal.Refusal>

    /// Sets whether the stock of a recorded reversal was put back, if it was not so yet:
    /// false when it was (another request claimed it first). Marked before the stock is
    /// put back, so that a crash or a second request in between cannot put it back twice;
    /// unmarked when putting it back failed.
    func markRestocked(checkoutID: String, merchant: String, id: String, restocked: Bool) async throws -> Bool

    /// Stores `buyer`'s request to cancel or return units of a seller's confirmed order,
    /// for the relay to deliver to the seller (`claimRequests`). Checked in the same
    /// transaction: the buyer's own checkout, the seller's part confirmed, not sent yet for
    /// a cancel (no sent status from the merchant, `BuyerRequest.sentStatuses`), the units
    /// neither taken back nor asked for by an open request, at most
    /// `BuyerRequest.maxPerPart` per part. A retry with the same id returns what is stored.
    func request(_ request: OrderRequest, buyer: String, now: Int64) async throws -> Result<BuyerRequest.Placed, BuyerRequest.Refusal>

    /// Like `claim`, for buyers' requests: each delivery's `request` is set, its lines and
    /// reference are its seller's order's.
    func claimRequests(
        now: Int64, limit: Int, claimMilliseconds: Int64, excluding: Set<String>, skipping: Set<String>, skippingUnlessBefore: Int64
    ) async throws -> [OutboxDelivery]

    /// Records what delivering a request led to (confirmed: the merchant has it; rejected:
    /// declined; retry; dead letter: failed), and the buyer's notice in the same commit.
    /// Only a pending request takes it (`applied`).
    @discardableResult
    func recordRequest(
        _ outcome: DeliveryOutcome, checkoutID: String, merchant: String, id: String, now: Int64, attempted: Bool, notice: OrderNotice?
    ) async throws -> (applied: Bool, noticeID: Int64?)

    /// The merchant declines an open request, with a note for the buyer; the buyer's notice
    /// in the same commit (nil for a retry of the same answer).
    func declineRequest(checkoutID: String, merchant: String, id: String, note: String?, now: Int64) async throws -> Result<OrderNotice?, BuyerRequest.Refusal>

    /// Orders given up on, oldest first.
    func deadLetters(limit: Int) async throws -> [OutboxDelivery]

    /// Records what an attempt led to and, in the same commit, the notice for the buyer.
    /// Only a pending delivery takes an outcome: when another relay recorded one first,
    /// nothing is written and `applied` is false. A retry or a dead letter is also refused
    /// once another relay claimed the delivery (this one's claim lapsed while it waited
    /// for the backend); the merchant's own answer (confirmed, rejected) stands whoever
    /// asked. `attempted` is false when the outcome was decided without calling the
    /// backend. A seller's confirmed sale releases its held shipments (due now) in the
    /// same commit; a rejected one rejects them (a dead letter keeps them held: it may be
    /// re-driven).
    @discardableResult
    func record(
        _ outcome: DeliveryOutcome, checkoutID: String, party: Party, now: Int64, attempted: Bool, notice: OrderNotice?
    ) async throws -> (applied: Bool, noticeID: Int64?)

    /// Deletes what is settled and older than `before`: confirmed and rejected orders,
    /// checkouts with no order left (and their idempotency keys), and notices. Dead letters
    /// stay until an operator re-drives them.
    @discardableResult
    func prune(before: Int64) async throws -> (checkouts: Int, notices: Int)

    /// Keeps a notice for its buyer until a session of theirs has been sent it.
    @discardableResult
    func addNotice(_ notice: OrderNotice) async throws -> Int64

    /// The buyer's notices no session has been sent yet, oldest first.
    func undeliveredNotices(for buyer: String, limit: Int) async throws -> [OrderNotice]

    /// Buyers with notices no session was sent yet, at most `limit` of them (a caller
    /// that gets `limit` treats every buyer as maybe waiting).
    func buyersWithUndeliveredNotices(limit: Int) async throws -> Set<String>

    func markDelivered(_ ids: [Int64]) async throws

    /// Makes every pending delivery of `merchant` due now (its order service connected).
    func expedite(merchant: String, now: Int64) async throws

    /// `merchant`'s settled deliveries of checkouts created at or after `since`, oldest
    /// first: for an order service that lost its records.
    func settled(merchant: String, since: Int64, limit: Int) async throws -> [OutboxDelivery]

    /// How many deliveries are pending and dead-lettered.
    func depth() async throws -> (pending: Int, deadLettered: Int)

    /// Moves deliveries' next attempt to `until` without counting an attempt (their
    /// backend's circuit is open), and ends this relay's claim on them (those another
    /// relay claimed meanwhile are left alone).
    func postpone(_ deliveries: [(checkoutID: String, party: Party)], until: Int64, now: Int64) async throws

    /// Puts a dead-lettered delivery back in the queue with a fresh set of attempts.
    func redrive(checkoutID: String, party: Party, now: Int64) async throws -> Bool

    /// What `influencer`'s codes earned on checkouts created in `since ..< until`: every
    /// credited line is written with its checkout (`append`) and follows its merchant's
    /// order (`record`, `redrive`), in the same commits, and is kept when settled orders
    /// are pruned. The timeline's buckets are `bucketMilliseconds` long, from the epoch.
    func earnings(of influencer: String, since: Int64, until: Int64, bucketMilliseconds: Int64) async throws -> EarningsReport

    /// Adds viewers' visits and add-to-carts through influencers' codes (one commit); the
    /// earnings report reads them back per stream and code.
    func recordFunnel(_ counts: [FunnelCount]) async throws

    /// Transactions committed and writes in them so far, for the group-commit metrics.
    func commitCounts() async -> (commits: Int, writes: Int)
}

extension Outbox {
    /// A checkout that was not traced.
    @discardableResult
    public func append(_ reservation: Reservation, stream: StreamID) async throws -> Reservation {
        try await append(reservation, stream: stream, trace: [:])
    }

    public func due(now: Int64, limit: Int) async throws -> [OutboxDelivery] {
        try await due(now: now, limit: limit, excluding: [])
    }

    /// An attempt's outcome for a seller's sale.
    @discardableResult
    public func record(
        _ outcome: DeliveryOutcome, checkoutID: String, merchant: String, now: Int64, attempted: Bool = true, notice: OrderNotice? = nil
    ) async throws -> (applied: Bool, noticeID: Int64?) {
        try await record(outcome, checkoutID: checkoutID, party: .sale(merchant), now: now, attempted: attempted, notice: notice)
    }

    /// Re-drives a seller's sale given up on.
    public func redrive(checkoutID: String, merchant: String, now: Int64) async throws -> Bool {
        try await redrive(checkoutID: checkoutID, party: .sale(merchant), now: now)
    }

    /// Postpones sellers' sales.
    public func postpone(_ deliveries: [(checkoutID: String, merchant: String)], until: Int64, now: Int64) async throws {
        try await postpone(deliveries.map { (checkoutID: $0.checkoutID, party: Party.sale($0.merchant)) }, until: until, now: now)
    }
}
