import CoreMetrics
import HawkerAuth
import HawkerCommerce
import HawkerHub
import HawkerOrders
import HawkerProtocol
import HawkerWebSocket
import Logging
import NIOCore

/// One hawker.v1 connection: a thin shell that feeds `SessionStateMachine` and carries
/// out its actions, and what decides each broadcast frame: the hub's `StreamSubscriber`
/// over TLS; on a plain connection the budget handler is, and hands the session every
/// frame it does not write as it is (`OutboundBudgetHandler+Broadcasts`).
final class SessionHandler: ChannelInboundHandler, StreamSubscriber, BroadcastFlusher {
    typealias InboundIn = WebSocketMessage
    typealias OutboundOut = ByteBuffer

    private var machine: SessionStateMachine
    /// Whether this connection's subscription to `stream` is active (delivering).
    func watches(_ stream: StreamID) -> Bool { machine.subscriptions[stream] == .active }
    let services: GatewayServices
    private let framer: WebSocketFramer
    /// The WebSocket layer below: broadcasts are written through it from the socket's
    /// side of the pipeline (`writeDirect`).
    private let connection: WebSocketConnectionHandler
    /// The connection's outbound budget, which broadcasts written directly do not pass:
    /// once it is spent they stop here (only a close frame may follow).
    private let budget: OutboundBudgetHandler
    /// Broadcast frames compressed with a full window are usable only when we compress
    /// with one too.
    private let useDeflatedBroadcasts: Bool
    /// The WebSocket layer writes broadcasts through the budget handler (no TLS), which
    /// is then also what the hub flushes; else the session is.
    private let broadcastsFlushedByBudget: Bool
    private var context: ChannelHandlerContext? {
        didSet { tellBudgetWhetherBroadcastsPass() }
    }
    /// The one answer to "may this session still write?".
    private(set) var phase = Phase.open {
        didSet { tellBudgetWhetherBroadcastsPass() }
    }
    /// Who the session is, once connected.
    var identity: Identity?
    /// Broadcast delivery and the slow-consumer policy.
    private var delivery: ViewerDelivery {
        didSet { tellBudgetWhetherBroadcastsPass() }
    }
    private var timers = Timers()
    private var replyFlushPending = false

    /// `writesThroughBudget`: `connection` writes broadcasts through `budget`
    /// (`writeDirectly(through:)`).
    init(
        services: GatewayServices, framer: WebSocketFramer, connection: WebSocketConnectionHandler, budget: OutboundBudgetHandler,
        writesThroughBudget: Bool
    ) {
        self.connection = connection
        self.budget = budget
        self.broadcastsFlushedByBudget = writesThroughBudget
        let sessionID = RandomID.hex16()
        self.machine = SessionStateMachine(sessionID: sessionID, limits: services.sessionLimits)
        self.services = services
        self.framer = framer
        self.useDeflatedBroadcasts = framer.compression?.serverMaxWindowBits == 15
        self.delivery = ViewerDelivery(
            policy: .init(stuckTimeout: services.configuration.slowConsumerTimeout, budgetBytes: services.configuration.outboundBudgetBytes)
        )
    }

    /// Who a connected session is, and what it holds on the user's behalf.
    struct Identity {
        var subject: String
        /// Holds one of the user's connections (and its subscriptions) against its
        /// quotas; false for anonymous viewers.
        var holdsQuota: Bool
        /// Registered to receive order results (signed-in buyers).
        var isBuyer = false
        /// Takes deliveries as an order service.
        var isOrderService = false
        /// The influencer's code this signed-in viewer arrived through (`referral`): its
        /// add-to-carts count in that code's funnel (an anonymous viewer has no lasting
        /// identity to count once).
        var referredBy: String?
        /// The stream `referral` named, until this connection's subscription to it is
        /// active: the visit counts then (a stream it never watches counts nothing).
        var visitDue: StreamID?

        /// The user whose quotas this session counts against.
        var quotaUser: String? { holdsQuota ? subject : nil }
    }

    /// This session's deadlines, cancelled together when it ends.
    private struct Timers {
        /// The loop's deadline heaps: connect and token expiry are entries there, not
        /// NIO timers (see `SessionDeadlines`).
        var clocks: SessionClocks?
        /// No `connect` within `connect_timeout_ms`: close 4000.
        var connect: SessionDeadlines<SessionHandler>.Ticket?
        /// The token's `exp`.
        var expiry: SessionDeadlines<SessionHandler>.Ticket?
        /// A backed-up viewer's `ViewerDelivery.stuckDeadline`: rare, so a NIO timer.
        var stuck: Scheduled<Void>?

        mutating func cancelConnect() {
            if let connect { clocks?.connect.cancel(connect) }
            connect = nil
        }

        mutating func cancelAll() {
            cancelConnect()
            if let expiry { clocks?.tokenExpiry.cancel(expiry) }
            expiry = nil
            stuck?.cancel()
            stuck = nil
        }
    }

    enum Phase {
        case open
        /// A close was asked for (ours or the peer's): nothing more is written.
        case closing
        /// The channel is gone and everything the session held is given back.
        case tornDown
    }

    /// Built when something is logged rather than kept per connection: a logger with its
    /// own metadata costs a few hundred bytes for every idle viewer.
    private var logger: Logger {
        var logger = services.logger
        logger[metadataKey: "session"] = "\(machine.sessionID)"
        if let subject = identity?.subject { logger[metadataKey: "sub"] = "\(subject)" }
        return logger
    }

    // MARK: - Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        if broadcastsFlushedByBudget {
            // Until tearDown: the hub delivers to the budget handler, which hands the
            // session what it does not write itself.
            budget.session = self
            budget.deflatedBroadcasts = useDeflatedBroadcasts
        }
        self.context = context
        services.connections.markWebSocket(context.channel)
        services.metrics.connections.increment()
        // A loop that is not the gateway's (a test's) gets clocks of its own.
        let clocks = services.clocks.value(on: context.eventLoop) ?? SessionClocks(eventLoop: context.eventLoop)
        timers.clocks = clocks
        timers.connect = clocks.connect.schedule(self, at: context.eventLoop.now + services.configuration.connectTimeout)
    }

    /// `SessionClocks.connect` fired: no `connect` in time.
    func connectDeadlinePassed() {
        timers.connect = nil
        perform(machine.connectTimedOut())
    }

    /// `SessionClocks.tokenExpiry` fired.
    func tokenExpired() {
        timers.expiry = nil
        perform(machine.tokenExpired())
    }

    func channelInactive(context: ChannelHandlerContext) {
        tearDown(context: context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tearDown(context: context)
        self.context = nil
    }

    private func tearDown(context: ChannelHandlerContext) {
        guard phase != .tornDown else { return }
        phase = .tornDown
        if broadcastsFlushedByBudget { budget.session = nil }
        timers.cancelAll()
        delivery.stop()
        for stream in machine.closed() {
            services.streams.unsubscribe(subscriber, from: stream, eventLoop: context.eventLoop)
            services.metrics.subscriptions.decrement()
            releaseSubscriptionQuota()
        }
        if let user = identity?.quotaUser { services.quotas.release(.connections, by: user) }
        if let identity, identity.isBuyer { services.orders?.notices.disconnected(ObjectIdentifier(self), buyer: identity.subject) }
        if identity?.isOrderService == true { services.orders?.orderServices.disconnected(ObjectIdentifier(self)) }
        services.metrics.connections.decrement()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Replies and pongs to a client that does not read filled the connection's budget.
        if let exceeded = event as? OutboundBudgetExceeded {
            if phase == .open { giveUpOnSlowConsumer(reason: "owed more than \(exceeded.limit) bytes") }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { catchUp(context: context) }
        context.fireChannelWritabilityChanged()
    }

    /// The socket drained: a `gap` notice per stream, then the latest state it missed.
    private func catchUp(context: ChannelHandlerContext) {
        guard let (gaps, frames) = delivery.drained() else { return }
        timers.stuck?.cancel()
        timers.stuck = nil
        guard phase == .open else { return }
        for gap in gaps {
            send(
                .push(
                    type: .gap, stream: gap.stream,
                    body: [
                        "coalesced": .int(Int64(gap.coalesced)),
                        "chat_batches_missed": .int(Int64(gap.chatBatchesMissed)),
                        "chat_messages_missed": .int(Int64(gap.chatMessagesMissed)),
                    ]), flush: false)
        }
        for (_, frame) in frames {
            context.write(wrapOutboundOut(useDeflatedBroadcasts ? (frame.deflated ?? frame.plain) : frame.plain), promise: nil)
        }
        context.flush()
    }

    // MARK: - Input

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        guard message.kind == .text else {
            if phase == .open { phase = .closing }
            context.triggerUserOutboundEvent(WebSocketCloseRequest(code: CloseCode.unsupportedData.rawValue, reason: "hawker.v1 uses text frames only"), promise: nil)
            return
        }
        perform(machine.receive(message.data, now: .now()))
    }

    // MARK: - Actions

    private func perform(_ action: SessionStateMachine.Action) {
        guard let context else { return }
        switch action {
        case .none:
            break
        case .send(let message):
            send(message)
        case .sendAndClose(let message, let code):
            send(message)
            close(code, reason: code.name)
        case .close(let code, let reason):
            close(code, reason: reason)
        case .pong(let id):
            send(.pong(re: id, serverTime: services.streams.now))
        case .authenticate(let id, let token):
            // Most tokens are answered right here (HS256, or verified before); the others
            // (JWKS keys) by jwt-kit, off the loop.
            if let result = services.verifyNow(token) {
                authenticated(id: id, result, context: context)
                return
            }
            let services = self.services
            context.eventLoop.makeFutureWithTask { await services.verify(token) }
                .assumeIsolated()
                .whenSuccess { [self] result in
                    guard let context = self.context else { return }
                    authenticated(id: id, result, context: context)
                }
        case .welcome(let id, let principal):
            welcome(id: id, principal: principal, context: context)
        case .subscribe(let id, let stream, let since, let create):
            subscribe(id: id, stream: stream, since: since, create: create, context: context)
        case .unsubscribe(let id, let stream, let release):
            if release {
                services.streams.unsubscribe(subscriber, from: stream, eventLoop: context.eventLoop)
                services.metrics.subscriptions.decrement()
                releaseSubscriptionQuota()
            }
            send(.unsubscribed(re: id, stream: stream))
        case .act(let id, let stream, let action, let principal):
            if action.postsText, let user = identity?.quotaUser, let wait = services.quotas.take(.chat, by: user) {
                let limit = services.quotas.limits.chatPerMinute
                send(.error(.init(re: id, code: .rateLimited, message: "at most \(limit) chat messages and questions per minute over all streams", retryAfterMilliseconds: wait)))
                return
            }
            let author = Author(user: principal.subject, name: principal.name, role: principal.role.rawValue, isStaff: principal.isStaff)
            services.streams.perform(action, by: author, on: stream)
                .hop(to: context.eventLoop)
                .assumeIsolated()
                .whenComplete { [self] result in
                    switch result {
                    case .success(.reply(let type, let body)):
                        if case .intent(let product, _, .addToCart) = action { countAddToCart(product, stream: stream) }
                        if let id { send(.reply(type: type, re: id, body: body)) }
                    case .success(.published(let receipt)):
                        if let id { send(.published(re: id, receipt: receipt)) }
                    case .failure(let error):
                        send(.error(.init(failure: error, re: id, stream: stream)))
                    }
                }
        case .checkout(let id, let stream, let request, let buyer):
            checkout(id: id, stream: stream, request: request, buyer: buyer, context: context)
        case .orders(let id, let command, let merchant):
            orderCommand(id: id, command, merchant: merchant, context: context)
        case .referral(let id, let request, let stream):
            referral(id: id, request, stream: stream)
        case .quote(let id, let stream, let request):
            quote(id: id, stream: stream, request: request, context: context)
        case .orderHistory(let id, let after, let limit, let buyer):
            orderHistory(id: id, after: after, limit: limit, buyer: buyer, context: context)
        case .orderRequest(let id, let request, let buyer):
            orderRequest(id: id, request, buyer: buyer, context: context)
        case .publish(let id, let stream, let event):
            services.streams.publish(event, to: stream, creator: creator)
                .hop(to: context.eventLoop)
                .assumeIsolated()
                .whenComplete { [self] result in
                    switch result {
                    case .success(let receipt):
                        send(.published(re: id, receipt: receipt))
                    case .failure(let error):
                        send(.error(.init(failure: error, re: id, stream: stream)))
                    }
                }
        }
    }

    private func authenticated(id: String, _ result: Result<Principal, AuthError>, context: ChannelHandlerContext) {
        if case .failure(let error) = result {
            services.loginFailed(error, peer: context.channel.remoteAddress?.description ?? "unknown", over: "websocket")
        }
        perform(machine.authenticated(id: id, result))
        // What the client sent behind `connect`, answered in order.
        while phase == .open, let next = machine.nextWaiting(now: .now()) {
            perform(next)
        }
    }

    private func welcome(id: String, principal: Principal, context: ChannelHandlerContext) {
        timers.cancelConnect()
        if !principal.isAnonymous {
            guard services.quotas.acquire(.connections, by: principal.subject) else {
                let limit = services.quotas.limits.connections
                send(.error(.init(re: id, code: .quotaExceeded, message: "'\(principal.subject.prefix(64))' has \(limit) connections open already; close one")))
                close(.quotaExceeded, reason: "connection quota")
                return
            }
        }
        identity = Identity(subject: principal.subject, holdsQuota: !principal.isAnonymous)
        if let expiresAt = principal.expiresAt {
            let remaining = max(0, expiresAt - services.streams.now)
            timers.expiry = timers.clocks?.tokenExpiry.schedule(self, at: context.eventLoop.now + .milliseconds(remaining))
        }
        send(
            .welcome(
                .init(
                    re: id,
                    session: machine.sessionID,
                    serverTime: services.streams.now,
                    sub: principal.subject,
                    role: principal.role.rawValue,
                    limits: services.welcomeLimits(for: principal.role)
                )))
        // Signed-in buyers get their order results here, and first what they missed.
        if let orders = services.orders, !principal.isAnonymous, principal.role != .orderService {
            identity?.isBuyer = true
            let session = SessionHandle(self, eventLoop: context.eventLoop)
            let subject = principal.subject
            if orders.notices.register(session, buyer: subject) {
                Task { await orders.notices.sendWaiting(to: session, buyer: subject) }
            }
        }
    }

    private func subscribe(id: String, stream: StreamID, since: StreamPosition?, create: Bool, context: ChannelHandlerContext) {
        // Kept apart from `context`: a session that closed while the hub was answering
        // has no context any more but must still give the subscription back.
        let eventLoop = context.eventLoop
        if let user = identity?.quotaUser, !services.quotas.acquire(.subscriptions, by: user) {
            _ = machine.subscribeCompleted(stream, succeeded: false)
            let limit = services.quotas.limits.subscriptions
            send(.error(.init(re: id, code: .quotaExceeded, message: "at most \(limit) subscriptions per user over all connections")))
            return
        }
        services.streams.subscribe(stream, since: since, creator: create ? creator : nil, on: eventLoop)
            .assumeIsolated()
            .whenComplete { [self] result in
                let outcome = try? result.get()
                let completion = machine.subscribeCompleted(stream, succeeded: outcome != nil)
                // Only an activated subscription keeps its place in the user's quota.
                if completion != .activate { releaseSubscriptionQuota() }
                switch completion {
                case .activate:
                    guard let outcome, let context = self.context else { return }
                    services.metrics.subscriptions.increment()
                    if identity?.visitDue == stream { countVisit(stream) }
                    startDelivery(id: id, stream: stream, outcome: outcome, context: context)
                case .reportFailure:
                    if case .failure(let error) = result {
                        send(.error(.init(failure: error, re: id, stream: stream)))
                    }
                case .release:
                    services.streams.unsubscribe(subscriber, from: stream, eventLoop: eventLoop)
                case .ignore:
                    break
                }
            }
    }

    /// Who a stream this session creates counts against: operators create for others.
    private var creator: StreamCreator {
        guard machine.principal?.role != .admin, let user = identity?.quotaUser else { return .gateway }
        return .user(user)
    }

    private func releaseSubscriptionQuota() {
        if let user = identity?.quotaUser { services.quotas.release(.subscriptions, by: user) }
    }

    /// Sends the `subscribed` reply and what the outcome says comes first, then joins the
    /// live fan-out. Runs in the same loop tick as the hub's answer, so no live event can
    /// slip in between.
    private func startDelivery(id: String, stream: StreamID, outcome: SubscribeOutcome, context: ChannelHandlerContext) {
        // A replay's frames are flushed here, not by the hub: what they went to is told
        // that its batch ended.
        var due: (any BroadcastFlusher)?
        switch outcome.start {
        case .snapshot:
            send(.subscribed(.init(re: id, stream: stream, position: outcome.position, recovered: false, stateJSON: outcome.stateJSON, replayed: nil)), flush: false)
        case .replay(let frames):
            send(.subscribed(.init(re: id, stream: stream, position: outcome.position, recovered: true, stateJSON: nil, replayed: frames.count)), flush: false)
            for frame in frames { due = receive(frame, from: stream) ?? due }
        }
        // The pipeline's flush sends everything (reading the channel's state) first.
        context.flush()
        due?.flushBroadcasts()
        services.streams.activate(subscriber, on: stream, staff: machine.principal?.isStaff ?? false, eventLoop: context.eventLoop)
    }

    // MARK: - StreamSubscriber

    /// What the hub delivers this session's broadcasts to: on a plain connection the
    /// budget handler, which writes what the session would write the same way and hands
    /// the session the rest (`OutboundBudgetHandler+Broadcasts`).
    private var subscriber: any StreamSubscriber { broadcastsFlushedByBudget ? budget : self }

    /// Tells the budget handler whether the next broadcast would be written as it is: the
    /// session open and its viewer not backed up (kept at every change of either).
    private func tellBudgetWhetherBroadcastsPass() {
        guard broadcastsFlushedByBudget else { return }
        budget.sessionWritesBroadcasts = phase == .open && context != nil && !delivery.isBackedUp
    }

    func receive(_ frame: BroadcastFrame, from stream: StreamID) -> (any BroadcastFlusher)? {
        guard phase == .open, let context else {
            services.metrics.drops.increment()
            return nil
        }
        // While NIO's queue for the socket is known to be empty (the budget handler sends
        // broadcasts past it), the socket is writable and owes nothing: the channel's
        // state is not read, which was a cache miss per viewer. The loop's clock: the
        // one its timers run on (a test loop's too).
        let idle = budget.nioQueueIsEmpty
        switch delivery.receive(
            frame, from: stream, writable: idle || context.channel.isWritable, queuedBytes: idle ? 0 : context.channel.bufferedOutboundBytes,
            now: context.eventLoop.now)
        {
        case .write:
            // Spent budget (the 4001 is on its way), or the WebSocket layer is closing
            // (the peer's close, a keepalive timeout): dropped.
            let written = budget.isSpent ? .refused : connection.writeDirect(useDeflatedBroadcasts ? (frame.deflated ?? frame.plain) : frame.plain)
            switch written {
            case .refused:
                services.metrics.drops.increment()
                return nil
            case .written:
                return nil
            case .startedBatch:
                return broadcastsFlushedByBudget ? budget : self
            }
        case .held(let held, let backedUpNow):
            count(held, backedUpNow: backedUpNow)
            if backedUpNow, let deadline = delivery.stuckDeadline {
                timers.stuck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                    guard let context = self.context else { return }
                    if let reason = delivery.stuck(now: context.eventLoop.now) { giveUpOnSlowConsumer(reason: reason) }
                }
            }
            return nil
        case .giveUp(let reason, let held, let backedUpNow):
            count(held, backedUpNow: backedUpNow)
            giveUpOnSlowConsumer(reason: reason)
            return nil
        }
    }

    private func count(_ held: DeliveryBacklog.Held, backedUpNow: Bool) {
        if backedUpNow { services.metrics.backedUpViewers.increment() }
        switch held {
        case .kept: break
        case .replaced: services.metrics.coalescedFrames.increment()
        case .dropped: services.metrics.drops.increment()
        }
    }

    private func giveUpOnSlowConsumer(reason: String) {
        services.metrics.slowConsumerCloses.increment()
        delivery.stop()
        close(.slowConsumer, reason: reason)
    }

    /// Over TLS: the batch's frames wait in NIO above TLS.
    func flushBroadcasts() {
        connection.flushDirect()
    }

    // MARK: - Output

    /// Writes a message from another task (order results and requests); succeeds once
    /// written to the socket.
    func write(_ message: ServerMessage, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        guard let context, phase == .open else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        let frame = framer.textFrame(message.encode(allocator: context.channel.allocator), allocator: context.channel.allocator)
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(frame), promise: promise)
        return promise.futureResult
    }

    func send(_ message: ServerMessage, flush: Bool = true) {
        guard let context, phase == .open else { return }
        let frame = framer.textFrame(message.encode(allocator: context.channel.allocator), allocator: context.channel.allocator)
        context.write(wrapOutboundOut(frame), promise: nil)
        if flush { flushSoon(context: context) }
    }

    /// Flushes after the tasks already queued on this loop, so that the replies to a burst
    /// of commands (read together, answered together) leave in one write.
    func flushSoon(context: ChannelHandlerContext) {
        guard !replyFlushPending else { return }
        replyFlushPending = true
        context.eventLoop.assumeIsolated().execute { [self] in
            replyFlushPending = false
            self.context?.flush()
        }
    }

    private func close(_ code: CloseCode, reason: String) {
        guard let context else { return }
        if phase == .open { phase = .closing }
        logger.debug("closing", metadata: ["code": "\(code)", "reason": "\(reason)"])
        context.triggerUserOutboundEvent(WebSocketCloseRequest(code: code.rawValue, reason: reason), promise: nil)
    }
}

@available(*, unavailable)
extension SessionHandler: Sendable {}
