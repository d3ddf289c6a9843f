import HawkerProtocol
import NIOCore

/// What buyers are told about their orders (`order.confirmed`, `order.failed`,
/// `order.status`): sent to every live session of the buyer, and kept in the outbox
/// until one of them was sent it, so that a buyer who was offline hears it on the next
/// connection. In a cluster the buyer's sessions may be on any node: a stored notice is
/// announced to the other nodes (`announce`), which send it to theirs (`received`).
public final class BuyerNotices: Sendable {
    private let outbox: any Outbox
    private let buyers = BuyerSessions()
    /// Notices read from the outbox per connection; more wait for the next one.
    private let perConnection: Int
    private let clock: @Sendable () -> Int64
    private let announce: @Sendable (OrderNotice) -> Void

    /// - Parameter announce: tells the other nodes of a cluster of a stored notice.
    public init(outbox: any Outbox, perConnection: Int, clock: @escaping @Sendable () -> Int64, announce: @escaping @Sendable (OrderNotice) -> Void = { _ in }) {
        self.outbox = outbox
        self.perConnection = perConnection
        self.clock = clock
        self.announce = announce
    }

    /// At start, and after pruning: the buyers with notices still waiting.
    public func restore() async {
        buyers.beginRefresh()
        // One past the set's bound: that many means too many to hold (every connection
        // then reads the outbox), and the read stays bounded however many wait.
        if let waiting = try? await outbox.buyersWithUndeliveredNotices(limit: buyers.maxWaiting + 1) {
            buyers.refresh(waiting: waiting)
        } else {
            // Unknown: every connection reads the outbox until the next refresh.
            buyers.assumeEveryoneWaits()
        }
    }

    /// Sends a stored notice to every live session of its buyer; once one has written
    /// it, it is no longer kept for the next connection.
    public func post(_ notice: OrderNotice) async {
        // Marked first: a session that connects meanwhile reads it from the outbox.
        buyers.noticesMayWait(for: notice.buyer)
        var written = false
        for session in buyers.sessions(of: notice.buyer) where buyers.contains(session.id, buyer: notice.buyer) {
            if (try? await session.send(notice.message).get()) != nil { written = true }
        }
        if written, let id = notice.id { try? await outbox.markDelivered([id]) }
        announce(notice)
    }

    /// A notice another node stored and announced: sent to this node's sessions of its
    /// buyer; the buyer's next connection here looks in the outbox (the notice is marked
    /// delivered there only once some session was sent it). An announcement may be lost
    /// (Redis away, the node killed): on a shared outbox `restore` runs every few seconds.
    public func received(_ notice: OrderNotice) async {
        // Marked first, as in `post`: a session that connects meanwhile reads the outbox.
        buyers.noticesMayWait(for: notice.buyer)
        var written = false
        for session in buyers.sessions(of: notice.buyer) where buyers.contains(session.id, buyer: notice.buyer) {
            if (try? await session.send(notice.message).get()) != nil { written = true }
        }
        if written, let id = notice.id { try? await outbox.markDelivered([id]) }
    }

    /// A buyer's session started: it receives live notices from now on, and first what
    /// earlier notices no session of theirs has been sent.
    public func connected(_ session: SessionHandle, buyer: String) async {
        if register(session, buyer: buyer) { await sendWaiting(to: session, buyer: buyer) }
    }

    /// The synchronous half of `connected`, for a session on its event loop: registers
    /// it for live notices and returns true when earlier notices may wait in the outbox,
    /// to be sent with `sendWaiting`. Most connections have none, and then cost no task.
    public func register(_ session: SessionHandle, buyer: String) -> Bool {
        buyers.add(session, buyer: buyer)
        return buyers.takeWaiting(buyer)
    }

    /// Sends `session` the notices no session of `buyer` has been sent yet; after
    /// `register` returned true.
    public func sendWaiting(to session: SessionHandle, buyer: String) async {
        guard let notices = try? await outbox.undeliveredNotices(for: buyer, limit: perConnection) else {
            buyers.noticesMayWait(for: buyer)
            return
        }
        if notices.count == perConnection { buyers.noticesMayWait(for: buyer) }
        var delivered: [Int64] = []
        // A session that closed while the outbox was read is sent nothing (its loop may
        // be stopped already, at shutdown); what it was not sent waits for the next one.
        for notice in notices where buyers.contains(session.id, buyer: buyer) {
            if (try? await session.send(notice.message).get()) != nil, let id = notice.id { delivered.append(id) }
        }
        if delivered.count < notices.count { buyers.noticesMayWait(for: buyer) }
        do {
            try await outbox.markDelivered(delivered)
        } catch {
            buyers.noticesMayWait(for: buyer)
        }
    }

    public func disconnected(_ id: ObjectIdentifier, buyer: String) {
        buyers.remove(id, buyer: buyer)
    }

    /// What became of a merchant's status update.
    public enum StatusUpdateOutcome: Sendable, Hashable {
        case posted
        /// The checkout has no order (or shipment on its way) of that merchant.
        case unknownCheckout
        /// The merchant has parts of several sellers here and named none of them.
        case ambiguous(sellers: [String])
        /// A supplier tried a seller's word (`OrderStatusUpdate.sellerOnlyStatuses`).
        case sellerOnly
        /// The outbox could not be read or written: send it again.
        case unavailable
    }

    /// A status update from `merchant` for one of its orders (shipped, tracking, returned):
    /// stored and sent to the buyer. For a shipment a supplier makes (dropship), the buyer
    /// hears it as the seller's word, on the seller's part of the order.
    public func statusUpdate(_ update: OrderStatusUpdate, merchant: String) async -> StatusUpdateOutcome {
        guard let deliveries = try? await outbox.deliveries(of: update.checkoutID) else { return .unavailable }
        // A shipment still held, or cancelled before it was sent, is not the supplier's yet.
        let parts = deliveries.filter {
            $0.merchant == merchant && (update.seller == nil || $0.seller == update.seller)
                && (!$0.isShipment || $0.status == .pending || $0.status == .confirmed)
        }
        guard let part = parts.first else { return .unknownCheckout }
        let sellers = Set(parts.map(\.seller))
        guard sellers.count == 1 else { return .ambiguous(sellers: sellers.sorted()) }
        if part.isShipment, OrderStatusUpdate.sellerOnlyStatuses.contains(update.status.lowercased()) { return .sellerOnly }
        let now = clock()
        var body = update.body
        // The supplier's own order number means nothing to the seller's buyer.
        if part.isShipment { body["reference"] = nil }
        body["merchant"] = .string(part.seller)
        body["at"] = .int(now)
        var notice = OrderNotice(buyer: part.buyer, checkoutID: part.checkoutID, stream: part.stream, type: .orderStatus, body: body, createdAt: now)
        guard let id = try? await outbox.addNotice(notice) else { return .unavailable }
        notice.id = id
        await post(notice)
        return .posted
    }
}
