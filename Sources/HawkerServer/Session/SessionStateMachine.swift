import HawkerAuth
import HawkerProtocol
import HawkerWebSocket
import NIOCore

/// The protocol logic of one connection, without I/O: it decodes commands, tracks the
/// connection's phase and subscriptions, enforces rates and permissions, and says what
/// to do next. `SessionHandler` carries the actions out.
struct SessionStateMachine {
    struct Limits: Sendable {
        var maxSubscriptions: Int
        var commandsPerSecond: Int
        var commandBurst: Int
        /// Hosts and admins drive a stream (stock, prices, pins) and get a larger budget.
        var publisherCommandsPerSecond: Int = 1_000
        var publisherCommandBurst: Int = 2_000
        var errorBudget: Int
        var anonymousViewers: Bool
        /// Commands sent after `connect` while its token is being verified wait, in order,
        /// for `welcome` (a client connects and subscribes in one round trip); at most
        /// this many, of at most `waitingCommandBytes` together.
        var waitingCommands: Int = 16
        var waitingCommandBytes: Int = 65_536
    }

    enum Phase: Equatable {
        case awaitingConnect
        case authenticating(id: String)
        case connected(Principal)
        case closed
    }

    enum Subscription: Equatable {
        /// Asked the hub; the reply has not arrived.
        case pending
        case active
        /// Unsubscribed (or closed) while pending: release it when the hub answers.
        case cancelled
    }

    enum Action {
        case none
        case send(ServerMessage)
        case sendAndClose(ServerMessage, CloseCode)
        case close(CloseCode, reason: String)
        case authenticate(id: String, token: String)
        case welcome(id: String, Principal)
        case subscribe(id: String, stream: StreamID, since: StreamPosition?, createIfMissing: Bool)
        /// Reply `unsubscribed`; release the hub subscription when it was active.
        case unsubscribe(id: String, stream: StreamID, release: Bool)
        case publish(id: String, stream: StreamID, event: EventDraft)
        /// Chat, questions, intents, moderation: run it in the stream's room. No `id`: reply
        /// only if it is refused.
        case act(id: String?, stream: StreamID, action: StreamAction, principal: Principal)
        /// Reserve, record durably, answer.
        case checkout(id: String, stream: StreamID, request: CheckoutRequest, buyer: String)
        /// An order service's command, for the token's merchant.
        case orders(id: String, command: OrderCommand, merchant: String)
        /// A referral ticket for a code's link: anyone connected may ask.
        case referral(id: String, request: ReferralRequest, stream: StreamID?)
        case quote(id: String, stream: StreamID, request: QuoteRequest)
        case orderHistory(id: String, after: String?, limit: Int, buyer: String)
        case orderRequest(id: String, request: OrderRequest, buyer: String)
        case pong(id: String)
    }

    /// What to do when the hub answers a subscribe.
    enum SubscribeCompletion: Equatable {
        /// Send the reply and start live delivery.
        case activate
        /// Report the failure to the client.
        case reportFailure
        /// Nobody wants it any more: give the subscription back to the hub.
        case release
        case ignore
    }

    let sessionID: String
    let limits: Limits
    private(set) var phase = Phase.awaitingConnect
    private(set) var subscriptions: [StreamID: Subscription] = [:]
    private var commands: TokenBucket
    private var errors: TokenBucket
    private var rateLimitedInARow = 0
    /// Commands that arrived while authenticating, decoded (or refused) on arrival and
    /// answered after `welcome` in the order they came.
    private var waiting: [Result<ClientCommand, CommandDecodingError>] = []
    private var waitingNext = 0
    private var waitingBytes = 0

    init(sessionID: String, limits: Limits) {
        self.sessionID = sessionID
        self.limits = limits
        self.commands = TokenBucket(ratePerSecond: limits.commandsPerSecond, burst: limits.commandBurst)
        self.errors = TokenBucket(ratePerSecond: 1, burst: limits.errorBudget)
    }

    var principal: Principal? {
        if case .connected(let principal) = phase { return principal }
        return nil
    }

    // MARK: - Input

    mutating func receive(_ text: ByteBuffer, now: NIODeadline) -> Action {
        guard phase != .closed else { return .none }
        guard commands.take(now: now) else {
            rateLimitedInARow += 1
            if rateLimitedInARow > limits.commandBurst {
                phase = .closed
                return .close(.flood, reason: "kept sending after rate_limited")
            }
            return .send(.error(.init(re: nil, code: .rateLimited, message: "more than \(limits.commandsPerSecond) commands per second", retryAfterMilliseconds: commands.retryAfterMilliseconds())))
        }
        rateLimitedInARow = 0
        let decoded = Result { () throws(CommandDecodingError) in try ClientCommand.decode(text) }
        if case .authenticating = phase {
            return wait(decoded, bytes: text.readableBytes, now: now)
        }
        let command: ClientCommand
        switch decoded {
        case .success(let success):
            command = success
        case .failure(let error):
            return refuse(re: error.id, error.code, error.message, now: now)
        }
        switch phase {
        case .awaitingConnect:
            guard case .connect(let id, let token) = command else {
                return refuse(re: command.id, .notConnected, "send 'connect' first", now: now)
            }
            if let token {
                phase = .authenticating(id: id)
                return .authenticate(id: id, token: token)
            }
            guard limits.anonymousViewers else {
                phase = .closed
                return .sendAndClose(.error(.init(re: id, code: .unauthorized, message: "a token is required")), .unauthorized)
            }
            let principal = Principal.anonymous(session: sessionID)
            phase = .connected(principal)
            return .welcome(id: id, principal)
        case .authenticating:
            return .none  // handled above
        case .connected(let principal):
            return connected(command, principal: principal, now: now)
        case .closed:
            return .none
        }
    }

    /// Keeps a command that came while the token is being verified, or refuses it past
    /// the bound.
    private mutating func wait(_ decoded: Result<ClientCommand, CommandDecodingError>, bytes: Int, now: NIODeadline) -> Action {
        guard waiting.count - waitingNext < limits.waitingCommands, waitingBytes + bytes <= limits.waitingCommandBytes else {
            let id: String?
            switch decoded {
            case .success(let command): id = command.id
            case .failure(let error): id = error.id
            }
            let bound = "at most \(limits.waitingCommands) commands (\(limits.waitingCommandBytes) bytes) wait for 'welcome'"
            return refuse(re: id, .notConnected, "\(bound); send the rest after it", now: now)
        }
        waiting.append(decoded)
        waitingBytes += bytes
        return .none
    }

    /// The next command that waited for `welcome`, once connected; nil when none is left.
    /// The handler calls this until nil after carrying out `welcome`.
    mutating func nextWaiting(now: NIODeadline) -> Action? {
        guard case .connected(let principal) = phase else { return nil }
        guard waitingNext < waiting.count else {
            if !waiting.isEmpty { releaseWaiting() }
            return nil
        }
        let decoded = waiting[waitingNext]
        waitingNext += 1
        switch decoded {
        case .success(let command):
            return connected(command, principal: principal, now: now)
        case .failure(let error):
            return refuse(re: error.id, error.code, error.message, now: now)
        }
    }

    private mutating func releaseWaiting() {
        waiting = []
        waitingNext = 0
        waitingBytes = 0
    }

    private mutating func connected(_ command: ClientCommand, principal: Principal, now: NIODeadline) -> Action {
        switch command {
        case .connect(let id, _):
            return refuse(re: id, .alreadyConnected, "this connection is already connected", now: now)
        case .subscribe(let id, let stream, let since):
            guard principal.may(.read, on: stream) else {
                return refuse(re: id, .forbidden, "your token does not allow reading stream '\(stream)'", now: now)
            }
            guard subscriptions[stream] == nil else {
                return refuse(re: id, .alreadySubscribed, "already subscribed to '\(stream)'", now: now)
            }
            guard subscriptions.count < limits.maxSubscriptions else {
                return refuse(re: id, .tooManySubscriptions, "at most \(limits.maxSubscriptions) subscriptions per connection", now: now)
            }
            subscriptions[stream] = .pending
            return .subscribe(id: id, stream: stream, since: since, createIfMissing: principal.may(.publish, on: stream))
        case .unsubscribe(let id, let stream):
            switch subscriptions[stream] {
            case .active:
                subscriptions[stream] = nil
                return .unsubscribe(id: id, stream: stream, release: true)
            case .pending:
                subscriptions[stream] = .cancelled
                return .unsubscribe(id: id, stream: stream, release: false)
            case .cancelled, nil:
                return refuse(re: id, .notSubscribed, "not subscribed to '\(stream)'", now: now)
            }
        case .publish(let id, let stream, let event):
            guard principal.may(.publish, on: stream) else {
                return refuse(re: id, .forbidden, "only a host of '\(stream)' or an admin may publish to it", now: now)
            }
            return .publish(id: id, stream: stream, event: event)
        case .ping(let id):
            return .pong(id: id)
        case .stream(let id, let stream, let action):
            switch action {
            case .answer, .moderate:
                guard principal.may(.moderate, on: stream) else {
                    return refuse(re: id, .forbidden, "only a host or moderator of '\(stream)' may use '\(action.commandName)'", now: now)
                }
            case .chat, .ask, .upvote, .intent:
                guard principal.may(.interact, on: stream) else {
                    let why = principal.isAnonymous ? "sign in (connect with a token) to use '\(action.commandName)'" : "your token does not allow '\(action.commandName)' on stream '\(stream)'"
                    return refuse(re: id, .forbidden, why, now: now)
                }
            }
            return .act(id: id, stream: stream, action: action, principal: principal)
        case .checkout(let id, let stream, let request):
            guard principal.may(.interact, on: stream) else {
                let why = principal.isAnonymous ? "sign in (connect with a token) to check out" : "your token does not allow checking out on stream '\(stream)'"
                return refuse(re: id, .forbidden, why, now: now)
            }
            return .checkout(id: id, stream: stream, request: request, buyer: principal.subject)
        case .orders(let id, let command):
            guard principal.role == .orderService, let merchant = principal.merchant else {
                return refuse(re: id, .forbidden, "'\(command.commandName)' is for order services: a token with role order_service and a merchant claim", now: now)
            }
            return .orders(id: id, command: command, merchant: merchant)
        case .referral(let id, let request, let stream):
            return .referral(id: id, request: request, stream: stream)
        case .quote(let id, let stream, let request):
            // Prices are public to whoever may watch the stream.
            guard principal.may(.read, on: stream) else {
                return refuse(re: id, .forbidden, "your token does not allow reading stream '\(stream)'", now: now)
            }
            return .quote(id: id, stream: stream, request: request)
        case .orderHistory(let id, let after, let limit):
            // A buyer's own orders: whoever may check out, under the token's sub.
            guard !principal.isAnonymous, principal.role != .orderService else {
                return refuse(re: id, .forbidden, "sign in (connect with a token) to see your orders", now: now)
            }
            return .orderHistory(id: id, after: after, limit: limit, buyer: principal.subject)
        case .orderRequest(let id, let request):
            // About the buyer's own order: the outbox looks it up under the token's sub.
            guard !principal.isAnonymous, principal.role != .orderService else {
                return refuse(re: id, .forbidden, "sign in (connect with a token) to ask about your orders", now: now)
            }
            return .orderRequest(id: id, request: request, buyer: principal.subject)
        }
    }

    /// An error reply, or the close once the connection has spent its error budget.
    private mutating func refuse(re: String?, _ code: ErrorCode, _ message: String, now: NIODeadline) -> Action {
        let reply = ServerMessage.error(.init(re: re, code: code, message: message))
        guard errors.take(now: now) else {
            phase = .closed
            return .sendAndClose(reply, .tooManyErrors)
        }
        return .send(reply)
    }

    // MARK: - Completions

    mutating func authenticated(id: String, _ result: Result<Principal, AuthError>) -> Action {
        guard phase == .authenticating(id: id) else { return .none }
        switch result {
        case .success(let principal):
            phase = .connected(principal)
            if principal.role == .host || principal.role == .admin {
                commands = TokenBucket(ratePerSecond: limits.publisherCommandsPerSecond, burst: limits.publisherCommandBurst)
            }
            return .welcome(id: id, principal)
        case .failure(let error):
            phase = .closed
            releaseWaiting()
            let close: CloseCode = error.code == .tokenExpired ? .tokenExpired : .unauthorized
            return .sendAndClose(.error(.init(re: id, code: error.code, message: error.message)), close)
        }
    }

    mutating func subscribeCompleted(_ stream: StreamID, succeeded: Bool) -> SubscribeCompletion {
        switch subscriptions[stream] {
        case .pending where phase != .closed:
            if succeeded {
                subscriptions[stream] = .active
                return .activate
            }
            subscriptions[stream] = nil
            return .reportFailure
        case .pending, .cancelled:
            subscriptions[stream] = nil
            return succeeded ? .release : .ignore
        case .active, nil:
            return succeeded ? .release : .ignore
        }
    }

    mutating func connectTimedOut() -> Action {
        switch phase {
        case .awaitingConnect, .authenticating:
            phase = .closed
            return .close(.connectTimeout, reason: "no connect command in time")
        case .connected, .closed:
            return .none
        }
    }

    mutating func tokenExpired() -> Action {
        guard case .connected = phase else { return .none }
        phase = .closed
        return .sendAndClose(.error(.init(re: nil, code: .tokenExpired, message: "the token expired; reconnect with a fresh one")), .tokenExpired)
    }

    /// Marks the session closed; returns the active subscriptions to release. Pending
    /// ones are released when the hub answers.
    mutating func closed() -> [StreamID] {
        phase = .closed
        releaseWaiting()
        var release: [StreamID] = []
        for (stream, subscription) in subscriptions {
            switch subscription {
            case .active:
                release.append(stream)
                subscriptions[stream] = nil
            case .pending:
                subscriptions[stream] = .cancelled
            case .cancelled:
                break
            }
        }
        return release
    }
}
