import HawkerCommerce
import HawkerProtocol
import NIOCore

/// Everything the server does with streams, behind one seam: sequencing and fan-out of
/// events, subscriptions with resume, the room's commands, checkouts against the room's
/// stock, and the reads of the HTTP API.
///
/// `Hub` is the single-node engine: each stream lives on one home event loop of this
/// process. A cluster engine keeps the same promises across processes. Every
/// implementation passes `StreamEngineConformanceTests`. The promises:
///
/// - one order per stream: every subscriber sees a stream's events in the order of their
///   seq, with no gap and no duplicate, whatever loop or node published them;
/// - a subscriber activated after `subscribe` gets exactly the events after the outcome's
///   position, on its own event loop;
/// - a stream's room (stock, chat, questions, intents, moderation, sale clock) runs in one
///   place at a time, so its checks never race (a checkout never oversells).
public protocol StreamEngine: Sendable {
    /// The engine's clock, milliseconds since the Unix epoch (what `server_time` carries).
    var now: Int64 { get }

    // MARK: Events

    /// Sequences `draft` in `stream`, records it for resume and fans it out. Creates the
    /// stream on its first event, counted against `creator`'s stream quota.
    func publish(_ draft: EventDraft, to stream: StreamID, creator: StreamCreator) -> EventLoopFuture<PublishReceipt>

    /// Runs a chat, question, intent or moderation command in the stream's room.
    func perform(_ action: StreamAction, by author: Author, on stream: StreamID) -> EventLoopFuture<RoomOutcome>

    // MARK: Checkout

    /// Checks `request` against the stream's catalog, sales and stock and reserves it.
    func checkout(_ request: CheckoutRequest, buyer: String, checkoutID: String, on stream: StreamID) -> EventLoopFuture<StreamRoom.CheckoutOutcome>

    /// What a cart costs delivered somewhere and which products ship there, priced in the
    /// stream's room (nothing is held); nil when the stream does not exist.
    func quote(_ request: QuoteRequest, on stream: StreamID) -> EventLoopFuture<Result<Quote, CheckoutRejection>?>

    /// Undoes a reservation whose checkout could not be recorded: stock back, key forgotten.
    func abandon(_ reservation: Reservation, on stream: StreamID)

    /// A merchant confirmed or failed its part of a checkout: counted, and a failed part's
    /// stock given back (with `stock.changed`).
    func settle(checkoutID: String, merchant: String, confirmed: Bool, on stream: StreamID)

    /// A merchant took back units of a confirmed order (cancelled or returned):
    /// `taken`'s lines hold the units taken back. The host's figures net them out and the
    /// flash sales they counted against count them no more.
    func returned(_ taken: Reservation, on stream: StreamID)

    // MARK: Subscribing

    /// Starts a subscription for a subscriber that lives on `eventLoop`. The future
    /// completes on `eventLoop` with what to send first; the caller then calls `activate`
    /// before anything else runs on that loop. `creator`: who creates a missing stream
    /// (counted against its quota); nil when a missing stream is `streamNotFound`.
    func subscribe(_ stream: StreamID, since: StreamPosition?, creator: StreamCreator?, on eventLoop: any EventLoop) -> EventLoopFuture<SubscribeOutcome>

    /// Registers `subscriber` for live events, on its loop, once `subscribe` succeeded.
    /// Staff (hosts, moderators, admins) also get the staff-only pushes.
    func activate(_ subscriber: any StreamSubscriber, on stream: StreamID, staff: Bool, eventLoop: any EventLoop)

    /// Ends a subscription that `subscribe` started (activated or not), on its loop.
    func unsubscribe(_ subscriber: any StreamSubscriber, from stream: StreamID, eventLoop: any EventLoop)

    // MARK: Reading

    /// The stream's position and encoded state, or nil when it does not exist. An
    /// archived stream (no longer live, its room kept) answers with its last state.
    func snapshot(of stream: StreamID) -> EventLoopFuture<StreamSnapshot?>

    /// The streams with the most subscribers (then the most events).
    func busiestStreams(limit: Int, on eventLoop: any EventLoop) -> EventLoopFuture<[StreamStats]>

    /// The stream's lifetime counters, or nil when it does not exist (an archived
    /// stream answers with its last counters).
    func insights(of stream: StreamID) -> EventLoopFuture<ByteBuffer?>
}

extension StreamEngine {
    /// The gateway's own publishers (the demo, tests): no quota.
    public func publish(_ draft: EventDraft, to stream: StreamID) -> EventLoopFuture<PublishReceipt> {
        publish(draft, to: stream, creator: .gateway)
    }
}
