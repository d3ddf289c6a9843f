import CoreMetrics
import HawkerCommerce
import HawkerHub
import HawkerOrders
import HawkerProtocol
import Logging
import NIOCore
import Tracing

/// The checkout path, top to bottom:
///
/// 1. the session's loop hands the cart to the stream (`StreamEngine.checkout`), which
///    checks and reserves it on the stream's home loop, where its stock lives;
/// 2. an accepted reservation is appended to the outbox, and the buyer hears
///    `checkout.accepted` only once that commit is on disk;
/// 3. the relay delivers each merchant's part to its backend, with retries (`OrderRelay`);
/// 4. the outcome comes back here (`settled`): the stream counts it and gets a failed
///    part's stock back, and the buyer is told (`BuyerNotices`).
///
/// With tracing on, steps 1 and 2 are the spans `hawker.checkout.reserve` and
/// `hawker.checkout.record` in a `hawker.checkout` span, and each attempt of step 3 one
/// `hawker.order.deliver` in the same trace (`OrderTracing`).
struct CheckoutDesk: Sendable {
    private let streams: any StreamEngine
    /// The stock, for re-driven orders confirmed after their units were given back.
    private let inventory: InventoryLedger?
    private let outbox: any Outbox
    private let notices: BuyerNotices
    private let metrics: GatewayMetrics
    private let tracing: OrderTracing
    private let logger: Logger

    init(
        streams: any StreamEngine, inventory: InventoryLedger?, outbox: any Outbox, notices: BuyerNotices, metrics: GatewayMetrics,
        tracing: OrderTracing = .off, logger: Logger
    ) {
        self.streams = streams
        self.inventory = inventory
        self.outbox = outbox
        self.notices = notices
        self.metrics = metrics
        self.tracing = tracing
        self.logger = logger
    }

    /// Steps 1 and 2. The buyer's key is looked up in the outbox before anything else:
    /// a checkout accepted before a restart (or in another stream) is answered as it was,
    /// whatever the stream, its catalog or its stock say now. Then the room (which also
    /// remembers its recent answers, refusals included); a replayed key answers after the
    /// outbox commit too (the first one may still be in flight).
    func checkout(_ request: CheckoutRequest, buyer: String, stream: StreamID, re: String, on eventLoop: any EventLoop) -> EventLoopFuture<ServerMessage> {
        let started = NIODeadline.now()
        let metrics = self.metrics
        let outbox = self.outbox
        let span = tracing.start(OrderTracing.SpanName.checkout, kind: .server)
        span?.updateAttributes { attributes in
            attributes[OrderTracing.Attribute.stream] = stream.rawValue
            attributes[OrderTracing.Attribute.lines] = request.lines.count
        }
        // A key the outbox cannot hold (most of them: new checkouts) skips the lookup.
        let lookup =
            outbox.mayHaveAccepted(buyer: buyer, idempotencyKey: request.idempotencyKey)
            ? eventLoop.makeFutureWithTask { try await outbox.accepted(buyer: buyer, idempotencyKey: request.idempotencyKey) }
            : eventLoop.makeSucceededFuture(nil)
        return
            lookup
            .flatMap { stored -> EventLoopFuture<ServerMessage> in
                if let stored {
                    metrics.checkouts(.replayed)
                    span?.attributes[OrderTracing.Attribute.checkoutID] = stored.reservation.checkoutID
                    return eventLoop.makeSucceededFuture(
                        .reply(type: .checkoutAccepted, re: re, body: Self.acceptedBody(stored.reservation, stream: stored.stream, replayed: true)))
                }
                return reserve(request, buyer: buyer, stream: stream, re: re, on: eventLoop, span: span)
            }
            .recover { error in
                metrics.checkouts(.rejected)
                return .error(.init(failure: error, re: re, stream: stream))
            }
            .always { result in
                metrics.checkoutLatency.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
                if let span, case .success(let answer) = result { Self.end(span, answering: answer) }
            }
    }

    /// The span's outcome is the answer: accepted (or replayed), refused with its code
    /// (not an error: the buyer asked for what could not be had), or unavailable (an error).
    private static func end(_ span: any Span, answering answer: ServerMessage) {
        switch answer {
        case .reply(_, _, let body):
            span.attributes[OrderTracing.Attribute.outcome] = body["replayed"] == .bool(true) ? "replayed" : "accepted"
        case .error(let error):
            span.attributes[OrderTracing.Attribute.outcome] = error.code == .unavailable ? "unavailable" : "refused"
            span.attributes[OrderTracing.Attribute.refusal] = error.code.rawValue
            if error.code == .unavailable { span.setStatus(SpanStatus(code: .error, message: error.message)) }
        default:
            break
        }
        span.end()
    }

    /// Step 1 in the room, then step 2 for an accepted reservation.
    private func reserve(
        _ request: CheckoutRequest, buyer: String, stream: StreamID, re: String, on eventLoop: any EventLoop, span: (any Span)?
    ) -> EventLoopFuture<ServerMessage> {
        let metrics = self.metrics
        let checkoutID = "ck_" + RandomID.hex16()
        span?.attributes[OrderTracing.Attribute.checkoutID] = checkoutID
        let reserving = span.flatMap { tracing.start(OrderTracing.SpanName.reserve, parent: $0.context) }
        return streams.checkout(request, buyer: buyer, checkoutID: checkoutID, on: stream)
            .hop(to: eventLoop)
            .always { result in
                guard let reserving else { return }
                if case .failure(let error) = result {
                    reserving.recordError(error)
                    reserving.setStatus(SpanStatus(code: .error))
                }
                if case .success(let outcome) = result {
                    reserving.attributes[OrderTracing.Attribute.reserved] = (try? outcome.result.get()) != nil
                    reserving.attributes[OrderTracing.Attribute.replayed] = outcome.replayed
                }
                reserving.end()
            }
            .flatMap { outcome -> EventLoopFuture<ServerMessage> in
                switch outcome.result {
                case .failure(let rejection):
                    metrics.checkouts(.rejected)
                    return eventLoop.makeSucceededFuture(.error(.init(rejection, re: re)))
                case .success(let reservation):
                    return eventLoop.makeFutureWithTask {
                        await record(reservation, replayed: outcome.replayed, stream: stream, re: re, span: span)
                    }
                }
            }
    }

    /// Step 2: appends an accepted reservation to the outbox and answers.
    /// The checkout's trace context goes into the outbox with it, for its deliveries.
    private func record(_ reservation: Reservation, replayed: Bool, stream: StreamID, re: String, span: (any Span)?) async -> ServerMessage {
        let recording = span.flatMap { tracing.start(OrderTracing.SpanName.record, parent: $0.context) }
        defer { recording?.end() }
        do {
            let trace = span.map { tracing.carrier(for: $0) } ?? [:]
            let stored = try await outbox.append(reservation, stream: stream, trace: trace)
            let isOlder = stored.checkoutID != reservation.checkoutID
            if isOlder {
                // The same buyer and key were recorded before a restart: that checkout stands.
                streams.abandon(reservation, on: stream)
            }
            metrics.checkouts(replayed || isOlder ? .replayed : .accepted)
            return .reply(type: .checkoutAccepted, re: re, body: Self.acceptedBody(stored, stream: stream, replayed: replayed || isOlder))
        } catch {
            recording?.recordError(error)
            recording?.setStatus(SpanStatus(code: .error))
            if !replayed { streams.abandon(reservation, on: stream) }
            metrics.checkouts(.unavailable)
            logger.error("could not record a checkout", metadata: ["checkout": "\(reservation.checkoutID)", "error": "\(error)"])
            return .error(.init(re: re, code: .unavailable, message: "the checkout could not be recorded and nothing was reserved; retry with the same idempotency_key", retryAfterMilliseconds: 1_000))
        }
    }

    static func acceptedBody(_ reservation: Reservation, stream: StreamID, replayed: Bool) -> [String: JSONValue] {
        var body: [String: JSONValue] = [
            "stream": .string(stream.rawValue),
            "checkout_id": .string(reservation.checkoutID),
            "items": .array(reservation.lines.map(\.json)),
            // Checked when reserved; a stored row that does not add up reads as no totals.
            "totals": totalsJSON(reservation.totals ?? []),
            "merchants": .array(reservation.merchants.map { .string($0) }),
            "attribution": attributionJSON(reservation),
            "replayed": .bool(replayed),
        ]
        // Checkouts stored before quotes have neither.
        if !reservation.charges.isEmpty { body["charges"] = .array(reservation.charges.map(\.json)) }
        if let shipTo = reservation.shipTo { body["ship_to"] = shipTo.json }
        return body
    }

    /// What the buyer is told of attribution: the codes credited (not the commissions), and
    /// why the code they brought was not, if it was not.
    static func attributionJSON(_ reservation: Reservation) -> JSONValue {
        var object: [String: JSONValue] = ["codes": .array(reservation.creditedCodes.map { .string($0) })]
        if let declined = reservation.declined { object["declined"] = declined.json }
        return .object(object)
    }

    /// Step 4: what became of one merchant's part, from the relay.
    func settled(_ delivery: OutboxDelivery, _ outcome: DeliveryOutcome, notice: OrderNotice?) async {
        let stream = delivery.stream
        // A buyer's request holds no stock and settles no order: the buyer is told.
        if let request = delivery.request {
            if case .deadLetter(let reason) = outcome {
                logger.error(
                    "buyer's request given up on",
                    metadata: ["checkout": "\(delivery.checkoutID)", "merchant": "\(delivery.merchant)", "request": "\(request.id)", "reason": "\(reason)"])
            }
            if let notice { await notices.post(notice) }
            return
        }
        // A supplier's shipment holds no stock and is not the buyer's order (the sale is):
        // only logged, for the operator (a dead letter is re-driven like any other).
        guard !delivery.isShipment else {
            let metadata: Logger.Metadata = ["checkout": "\(delivery.checkoutID)", "supplier": "\(delivery.merchant)", "seller": "\(delivery.seller)"]
            switch outcome {
            case .confirmed: logger.debug("shipment confirmed", metadata: metadata)
            // A supplier's refusal, too (the relay records it as a dead letter).
            case .deadLetter(let reason): logger.error("shipment dead-lettered", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
            case .rejected, .retry: break
            }
            return
        }
        switch outcome {
        case .confirmed:
            metrics.orders(.confirmed)
            // Re-driven after its dead letter gave its units back: they leave on hand now.
            if delivery.redrivenAt != nil { inventory?.confirmUnheld(delivery.checkoutID, merchant: delivery.merchant, delivery.units) }
            streams.settle(checkoutID: delivery.checkoutID, merchant: delivery.merchant, confirmed: true, on: stream)
        case .rejected(let reason):
            metrics.orders(.rejected)
            logger.notice("order rejected", metadata: ["checkout": "\(delivery.checkoutID)", "merchant": "\(delivery.merchant)", "reason": "\(reason)"])
            streams.settle(checkoutID: delivery.checkoutID, merchant: delivery.merchant, confirmed: false, on: stream)
        case .deadLetter(let reason):
            metrics.orders(.deadLettered)
            logger.error(
                "order dead-lettered",
                metadata: ["checkout": "\(delivery.checkoutID)", "merchant": "\(delivery.merchant)", "attempts": "\(delivery.attempts)", "reason": "\(reason)"]
            )
            streams.settle(checkoutID: delivery.checkoutID, merchant: delivery.merchant, confirmed: false, on: stream)
        case .retry(_, let error):
            metrics.orders(.retried)
            logger.debug("order delivery failed; will retry", metadata: ["checkout": "\(delivery.checkoutID)", "merchant": "\(delivery.merchant)", "error": "\(error)"])
        }
        if let notice { await notices.post(notice) }
    }
}

extension OutboxDelivery {
    /// What this merchant's order takes, per SKU.
    var units: [SKU: Int64] {
        var units: [SKU: Int64] = [:]
        for line in lines where line.merchant == merchant {
            units[SKU(merchant: line.merchant, product: line.product, variant: line.variant), default: 0] += line.quantity
        }
        return units
    }
}
