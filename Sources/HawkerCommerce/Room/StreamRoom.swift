import HawkerProtocol

/// Everything one stream knows besides its event log: the typed commerce state, chat,
/// questions, purchase intents and audience counters. A value type owned by the stream's
/// home event loop; every method takes the time, so tests drive it with a fake clock.
public struct StreamRoom: Sendable {
    public let configuration: RoomConfiguration
    public internal(set) var commerce: CommerceState
    public internal(set) var chat: ChatRoom
    public internal(set) var questions: QuestionAggregator
    public internal(set) var intents: IntentAggregator
    public internal(set) var insights = Insights()
    private var checkouts: IdempotencyCache<Result<Reservation, CheckoutRejection>>
    /// Accepted checkouts whose orders are not all settled, by checkout id: what a failed
    /// order gives back. Bounded; a checkout beyond the bound (or from before a restart)
    /// settles without touching stock: the host's stock events are the truth then.
    private var held: [String: Reservation] = [:]
    public static let maxHeldCheckouts = 200_000

    private var pushedQuestionsVersion: UInt64 = 0
    private var pushedIntentsVersion: UInt64 = 0
    /// Window counts fall as time passes without new intents: re-sent this often while
    /// the last summary was not empty.
    private var intentsPushedAt: Int64?
    private var intentsSummaryEmpty = true
    private var socialProofVersion: UInt64 = 0
    private var socialProofAt: Int64?
    private var pushedViewers = 0
    private var presenceAt: Int64?

    /// - Parameter stock: where stock levels live (the gateway's ledger, shared by every
    ///   stream); by default the room's own.
    public init(configuration: RoomConfiguration = RoomConfiguration(), seed: UInt64 = 0x5EED, stock: any StockSource = LocalStock()) {
        self.configuration = configuration
        self.commerce = CommerceState(limits: configuration.commerce, stock: stock)
        self.chat = ChatRoom(configuration: configuration.chatPerBatch, seed: seed)
        self.questions = QuestionAggregator(configuration: configuration.questions)
        self.intents = IntentAggregator(configuration: configuration.intents)
        self.checkouts = IdempotencyCache(capacity: max(1, configuration.idempotencyKeys))
    }

    // MARK: - Host events

    /// Checks a host's event against the state and returns it completed by the server.
    public mutating func apply(_ draft: EventDraft, now: Int64) throws(RoomError) -> EventDraft {
        try commerce.apply(draft, now: now)
    }

    // MARK: - Commands

    public mutating func perform(_ action: StreamAction, by author: Author, now: Int64) -> Result<RoomReply, RoomError> {
        switch action {
        case .chat(let text):
            let isQuestion = configuration.questionsFromChat && QuestionText.looksLikeQuestion(text)
            let sent = chat.send(text, from: author, kind: isQuestion ? .question : .chat, now: now)
            return sent.map { sent in
                switch sent {
                case .accepted(let message):
                    insights.chatMessages += 1
                    if isQuestion { _ = ask(message.text, by: author, now: now) }
                    return RoomReply(type: .chatAccepted, body: ["message": message.json])
                case .shadowed(let message):
                    return RoomReply(type: .chatAccepted, body: ["message": message.json])
                }
            }
        case .ask(let text):
            // Asking counts like chatting: bans, timeouts and the per-user rate apply.
            if let refusal = chat.admit(author, now: now) { return .failure(refusal) }
            return ask(text, by: author, now: now)
        case .upvote(let id):
            switch questions.upvote(id, user: author.user, now: now) {
            case .counted(let question):
                return .success(RoomReply(type: .questionUpvoted, body: ["question": Self.json(question, now: now), "counted": true]))
            case .alreadyCounted(let question):
                return .success(RoomReply(type: .questionUpvoted, body: ["question": Self.json(question, now: now), "counted": false]))
            case .votersFull:
                return .failure(RoomError(.limitReached, "this question has as many voters as it can count"))
            case .unknownQuestion:
                return .failure(RoomError(.unknownQuestion, "no question '\(id)' in this stream"))
            }
        case .answer(let id, let answer):
            guard author.isStaff else { return .failure(RoomError(.forbidden, "only the host or a moderator answers questions")) }
            guard let question = questions.answer(id, now: now) else {
                return .failure(RoomError(.unknownQuestion, "no question '\(id)' in this stream"))
            }
            insights.questionsAnswered += 1
            var data: [String: JSONValue] = [
                "question": .string(question.id), "text": .string(question.text),
                "askers": .int(Int64(question.askers)), "upvotes": .int(Int64(question.upvotes)),
            ]
            if let answer { data["answer"] = .string(answer) }
            let base = try? EventDraft(kind: .questionAnswered, data: ["question": .string(question.id)])
            return .success(RoomReply(type: .published, body: [:], event: base?.withData(data)))
        case .intent(let product, let variant, let action):
            guard let item = commerce.catalog[product] else {
                return .failure(RoomError(.unknownProduct, "no product '\(product)' in this stream's catalog"))
            }
            if let variant, item.variant(variant) == nil {
                return .failure(RoomError(.unknownVariant, "product '\(product)' has no variant '\(variant)'"))
            }
            guard let kind = IntentAction(rawValue: action.rawValue) else {
                return .failure(RoomError(.badRequest, "unknown intent action"))
            }
            switch intents.record(product: product, variant: variant, action: kind, user: author.user, now: now) {
            case .recorded:
                return .success(RoomReply(type: .intentRecorded, body: [:]))
            case .tooManyProducts:
                return .failure(RoomError(.limitReached, "too many products with intents in this stream"))
            }
        case .moderate(let moderation):
            guard author.isStaff else { return .failure(RoomError(.forbidden, "only the host or a moderator moderates")) }
            return chat.moderate(moderation, now: now).map { RoomReply(type: .moderated, body: ["action": .string(moderation.name)]) }
        }
    }

    /// Feeds the server's own counters (checkouts, purchases) into the intent windows.
    public mutating func record(_ action: IntentAction, product: String, user: String, now: Int64) {
        _ = intents.record(product: product, variant: nil, action: action, user: user, now: now)
    }

    private mutating func ask(_ text: String, by author: Author, now: Int64) -> Result<RoomReply, RoomError> {
        let merged: Bool
        let question: QuestionAggregator.Question
        switch questions.ask(text, user: author.user, now: now) {
        case .created(let created):
            (question, merged) = (created, false)
        case .merged(let existing), .alreadyAsked(let existing):
            (question, merged) = (existing, true)
        case .votersFull:
            return .failure(RoomError(.limitReached, "this question has as many askers as it can count"))
        case .rejected(.empty):
            return .failure(RoomError(.invalidMessage, "the question is empty"))
        case .rejected(.tooLong):
            return .failure(RoomError(.invalidMessage, "questions are at most \(configuration.questions.maxTextLength) characters"))
        case .rejected(.noMeaningfulWords):
            return .failure(RoomError(.invalidMessage, "the question has no words to match on; say what you want to know"))
        }
        insights.questionsAsked += 1
        return .success(RoomReply(type: .questionAccepted, body: ["question": Self.json(question, now: now), "merged": .bool(merged)]))
    }

    // MARK: - Checkout

    /// What a checkout did.
    public struct CheckoutOutcome: Sendable {
        public var result: Result<Reservation, CheckoutRejection>
        /// The same buyer and idempotency key were seen before: this is the first answer
        /// again, and nothing was reserved now.
        public var replayed: Bool
        /// `stock.changed` events to publish for the products whose stock moved.
        public var stockEvents: [EventDraft]

        public init(result: Result<Reservation, CheckoutRejection>, replayed: Bool, stockEvents: [EventDraft]) {
            self.result = result
            self.replayed = replayed
            self.stockEvents = stockEvents
        }
    }

    /// Validates and reserves a checkout (see `CommerceState.reserve`), once per buyer
    /// and idempotency key.
    public mutating func checkout(
        _ request: CheckoutRequest, buyer: String, checkoutID: String, attribution: AttributionCandidates = .empty,
        terms: (any MerchantTermsPolicy)? = nil, now: Int64
    ) -> CheckoutOutcome {
        if let first = checkouts.value(buyer: buyer, key: request.idempotencyKey) {
            return CheckoutOutcome(result: first, replayed: true, stockEvents: [])
        }
        let result: Result<Reservation, CheckoutRejection>
        do throws(CheckoutRejection) {
            result = .success(try commerce.reserve(request, buyer: buyer, checkoutID: checkoutID, policy: configuration.checkoutPolicy, attribution: attribution, terms: terms, now: now))
        } catch {
            result = .failure(error)
        }
        checkouts.store(result, buyer: buyer, key: request.idempotencyKey)
        guard case .success(let reservation) = result else {
            return CheckoutOutcome(result: result, replayed: false, stockEvents: [])
        }
        for line in reservation.lines {
            _ = intents.record(product: line.product, variant: line.variant, action: .checkout, user: buyer, now: now)
        }
        insights.recordCheckout(reservation)
        if held.count < Self.maxHeldCheckouts { held[reservation.checkoutID] = reservation }
        return CheckoutOutcome(result: result, replayed: false, stockEvents: commerce.refreshStock(of: reservation.lines.map(\.product)))
    }

    /// Undoes an accepted checkout that could not be recorded durably: its stock comes
    /// back and its idempotency key is forgotten, so that a retry runs again. Returns the
    /// `stock.changed` events to publish.
    public mutating func abandon(_ reservation: Reservation) -> [EventDraft] {
        checkouts.remove(buyer: reservation.buyer, key: reservation.idempotencyKey)
        insights.forgetCheckout(reservation)
        held[reservation.checkoutID] = nil
        commerce.stock.release(reservation.checkoutID)
        return commerce.release(reservation)
    }

    /// A merchant took back `taken`'s units of a confirmed order: the host's money nets
    /// them out, and flash sales still running count them no more (their stock went back,
    /// if it did, through the merchant's inventory). Returns the `stock.changed` events due.
    /// Once per return (`taken.idempotencyKey` names it). A flash sale counts back only
    /// units it sold: one that started after the purchase (an id used again) is left be.
    public mutating func returned(_ taken: Reservation) -> [EventDraft] {
        // (A node of the version before names no return: counted as it comes.)
        guard insights.recordReturn(taken.lines, key: taken.idempotencyKey) else { return [] }
        var sold = taken
        for index in sold.lines.indices {
            if let id = sold.lines[index].sale, let sale = commerce.sales[id], sale.startsAt > taken.createdAt { sold.lines[index].sale = nil }
        }
        return commerce.release(sold)
    }

    /// Stock levels moved where they live (a checkout or a level set in another stream,
    /// a merchant's update): the products of those SKUs shown here follow. Returns the
    /// `stock.changed` events to publish.
    public mutating func stockMoved(_ skus: Set<SKU>) -> [EventDraft] {
        commerce.refreshStock(of: commerce.catalog.all.filter { $0.skus.contains(where: skus.contains) }.map(\.id))
    }

    /// One merchant settled its part of a checkout: confirmed (counted as purchases) or
    /// failed (its stock comes back). Returns the `stock.changed` events to publish. A
    /// part settled twice (a re-driven dead letter) counts and releases once.
    public mutating func settle(checkoutID: String, merchant: String, confirmed: Bool, now: Int64) -> [EventDraft] {
        // The stock source settles whether or not this room still holds the checkout.
        commerce.stock.settle(checkoutID, merchant: merchant, confirmed: confirmed)
        guard var reservation = held[checkoutID] else { return [] }
        let part = reservation.lines.filter { $0.merchant == merchant }
        guard !part.isEmpty else { return [] }
        reservation.lines.removeAll { $0.merchant == merchant }
        held[checkoutID] = reservation.lines.isEmpty ? nil : reservation
        insights.recordOrder(part, confirmed: confirmed)
        if confirmed {
            for line in part {
                _ = intents.record(product: line.product, variant: line.variant, action: .purchase, user: reservation.buyer, now: now)
            }
            return commerce.refreshStock(of: part.map(\.product))
        }
        var released = reservation
        released.lines = part
        return commerce.release(released)
    }

    /// A checkout from the outbox after a restart, squared with what the saved room
    /// counted: one accepted after the save (`counted` false) is counted now (sale limits,
    /// insights); the parts of the merchants in `holding` (on their way, or settled after
    /// the save) are held, so that their settlement counts here; those in `settled`
    /// (merchant → confirmed) are settled now (the stock restored its own holds, so this
    /// touches no unit). Returns the `stock.changed` events due.
    public mutating func restoreCheckout(
        _ reservation: Reservation, counted: Bool, holding: Set<String>, settled: [String: Bool], now: Int64
    ) -> [EventDraft] {
        if !counted {
            commerce.recount(reservation)
            insights.recordCheckout(reservation)
            for line in reservation.lines {
                _ = intents.record(product: line.product, variant: line.variant, action: .checkout, user: reservation.buyer, now: now)
            }
        }
        var open = reservation
        open.lines.removeAll { !holding.contains($0.merchant) }
        if !open.lines.isEmpty, held.count < Self.maxHeldCheckouts || held[reservation.checkoutID] != nil { held[reservation.checkoutID] = open }
        return settled.sorted { $0.key < $1.key }.flatMap { settle(checkoutID: reservation.checkoutID, merchant: $0.key, confirmed: $0.value, now: now) }
    }

    public var heldCheckouts: Int { held.count }

    /// The accepted checkout `checkoutID` while its orders are not all settled.
    public func heldReservation(_ checkoutID: String) -> Reservation? { held[checkoutID] }

    // MARK: - Audience

    public mutating func viewersChanged(to count: Int) {
        insights.viewers = count
        insights.peakViewers = max(insights.peakViewers, count)
    }

    // MARK: - Tick

    /// Whether `tick` has anything to do: the owner ticks only busy rooms.
    public func needsTick(now: Int64) -> Bool {
        intentsRefreshDue(now: now) || chat.hasPending || questions.version != pushedQuestionsVersion || intents.version != pushedIntentsVersion
            || insights.viewers != pushedViewers || commerce.nextTransition.map { $0 <= now + configuration.tickMilliseconds } ?? false
            || (configuration.socialProof && intents.version != socialProofVersion)
    }

    private func intentsRefreshDue(now: Int64) -> Bool {
        !intentsSummaryEmpty && Self.elapsed(since: intentsPushedAt, now: now) >= configuration.socialProofIntervalMilliseconds
    }

    /// Whether the owner must keep ticking this room even when `needsTick` is false now
    /// (a sale will start or end later, intent windows are still emptying).
    public var hasScheduledWork: Bool { commerce.nextTransition != nil || !intentsSummaryEmpty }

    public mutating func tick(now: Int64) -> RoomTick {
        var tick = RoomTick()
        tick.events = commerce.dueTransitions(now: now)
        if let batch = chat.drain() {
            tick.pushes.append(RoomPush(type: .chat, audience: .everyone, coalescingKey: nil, body: batch.json, itemCount: batch.messages.count))
        }
        if questions.version != pushedQuestionsVersion {
            pushedQuestionsVersion = questions.version
            let top = questions.top(now: now).map { Self.json($0, now: now) }
            tick.pushes.append(
                RoomPush(
                    type: .questionsTop,
                    audience: configuration.questionsToViewers ? .everyone : .staff,
                    coalescingKey: "questions.top",
                    body: ["questions": .array(top)]
                ))
        }
        if intents.version != pushedIntentsVersion || intentsRefreshDue(now: now) {
            pushedIntentsVersion = intents.version
            intentsPushedAt = now
            intents.prune(now: now)
            let summary = intents.summary(now: now)
            intentsSummaryEmpty = summary.isEmpty
            tick.pushes.append(RoomPush(type: .intentsSummary, audience: .staff, coalescingKey: "intents.summary", body: ["products": .array(summary.map(\.json))]))
        }
        if configuration.socialProof, intents.version != socialProofVersion, Self.elapsed(since: socialProofAt, now: now) >= configuration.socialProofIntervalMilliseconds {
            socialProofVersion = intents.version
            socialProofAt = now
            let products = intents.summary(now: now).compactMap { summary -> JSONValue? in
                let added = summary.cartUsers1m
                guard added > 0 else { return nil }
                return ["product": .string(summary.product), "added_last_minute": .int(Int64(added))]
            }
            tick.pushes.append(RoomPush(type: .socialProof, audience: .everyone, coalescingKey: "social_proof", body: ["products": .array(products)]))
        }
        if insights.viewers != pushedViewers, Self.elapsed(since: presenceAt, now: now) >= configuration.presenceIntervalMilliseconds {
            pushedViewers = insights.viewers
            presenceAt = now
            tick.pushes.append(RoomPush(type: .presence, audience: .everyone, coalescingKey: "presence", body: ["viewers": .int(Int64(insights.viewers))]))
        }
        return tick
    }

    // MARK: - Reading

    /// The typed state a joining viewer receives.
    public func stateJSON(now: Int64) -> JSONValue {
        var state = commerce.json(now: now)
        state["viewers"] = .int(Int64(insights.viewers))
        if configuration.questionsToViewers {
            state["questions"] = .array(questions.top(now: now).map { Self.json($0, now: now) })
        }
        return .object(state)
    }

    public func insightsJSON(now: Int64) -> JSONValue {
        insights.json(chat: chat, intents: intents, now: now)
    }

    /// Milliseconds since `time`; "forever" when it never happened.
    private static func elapsed(since time: Int64?, now: Int64) -> Int64 {
        time.map { now - $0 } ?? .max
    }

    static func json(_ question: QuestionAggregator.Question, now: Int64) -> JSONValue {
        [
            "id": .string(question.id), "text": .string(question.text),
            "askers": .int(Int64(question.askers)), "upvotes": .int(Int64(question.upvotes)),
            "asked_at": .int(question.askedAt), "answered": .bool(question.answered),
        ]
    }
}
