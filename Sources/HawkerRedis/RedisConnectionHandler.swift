import NIOCore

/// Matches replies to the commands waiting for them, in order (any number may be in
/// flight: pipelining), and hands pub/sub pushes on. Bounded: at most
/// `maxPendingCommands` unanswered, and none older than `commandTimeout` (past it the
/// connection is closed and everything waiting fails).
final class RedisConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Waiter {
        var promise: EventLoopPromise<[RESPValue]>
        var remaining: Int
        var values: [RESPValue] = []
        var sentAt: NIODeadline
    }

    private let maxPendingCommands: Int
    private let commandTimeout: TimeAmount
    private let onMessage: @Sendable (RedisMessage) -> Void
    private var replies = CircularBuffer<Waiter>()
    private var confirmations = CircularBuffer<Waiter>()
    private var pending = 0
    private var timer: Scheduled<Void>?
    private var closedError: RedisError?

    init(maxPendingCommands: Int, commandTimeout: TimeAmount, onMessage: @escaping @Sendable (RedisMessage) -> Void) {
        self.maxPendingCommands = maxPendingCommands
        self.commandTimeout = commandTimeout
        self.onMessage = onMessage
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if closedError != nil {
            // Never sent: safe to send again once a connection is up.
            let error = RedisError(.unavailable, "the connection to Redis is closing")
            request.promise.fail(error)
            promise?.fail(error)
            return
        }
        guard pending + request.answer.count <= maxPendingCommands else {
            let error = RedisError(.overloaded, "\(pending) commands are waiting for Redis's replies")
            request.promise.fail(error)
            promise?.fail(error)
            return
        }
        pending += request.answer.count
        let waiter = Waiter(promise: request.promise, remaining: request.answer.count, sentAt: context.eventLoop.now)
        switch request.answer {
        case .replies: replies.append(waiter)
        case .confirmations: confirmations.append(waiter)
        }
        context.write(wrapOutboundOut(request.encoded), promise: promise)
        if timer == nil { arm(context, at: waiter.sentAt + commandTimeout) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if case .push(let elements) = value {
            push(elements, context: context)
            return
        }
        if !replies.isEmpty {
            replies[replies.startIndex].values.append(value)
            answered(&replies)
        } else if case .error(let message) = value, !confirmations.isEmpty {
            // A subscription refused (an ACL, say) answers with an error, not a push.
            pending -= confirmations.first!.remaining
            confirmations.removeFirst().promise.fail(RedisError(.replyError, message))
        } else {
            fail(context, RedisError(.protocolViolation, "a reply that no command waits for"))
        }
    }

    private func push(_ elements: [RESPValue], context: ChannelHandlerContext) {
        switch elements.first?.string {
        case "message", "smessage":
            guard elements.count == 3, let channel = elements[1].string, let payload = elements[2].bytes else { return }
            onMessage(RedisMessage(channel: channel, payload: payload, sharded: elements[0].string == "smessage"))
        case "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe":
            // An unsubscribe Redis sends by itself (a sharded channel's slot moved) has no waiter.
            guard !confirmations.isEmpty else { return }
            confirmations[confirmations.startIndex].values.append(.push(elements))
            answered(&confirmations)
        default:
            break  // client-side caching invalidations and the like: not used
        }
    }

    private func answered(_ queue: inout CircularBuffer<Waiter>) {
        pending -= 1
        queue[queue.startIndex].remaining -= 1
        if queue.first!.remaining == 0 {
            let waiter = queue.removeFirst()
            waiter.promise.succeed(waiter.values)
        }
    }

    private func arm(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            handler.checkTimeout(context)
        }
    }

    private func checkTimeout(_ context: ChannelHandlerContext) {
        let oldest = [replies.first?.sentAt, confirmations.first?.sentAt].compactMap { $0 }.min()
        guard let oldest else { return }
        if oldest + commandTimeout <= context.eventLoop.now {
            fail(context, RedisError(.connectionClosed, "no reply from Redis in \(commandTimeout.nanoseconds / 1_000_000) ms"))
        } else {
            arm(context, at: oldest + commandTimeout)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError(.connectionClosed, "the connection to Redis closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, error as? RedisError ?? RedisError(.connectionClosed, "\(error)"))
    }

    private func fail(_ context: ChannelHandlerContext, _ error: RedisError) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        if closedError == nil { closedError = error }
        timer?.cancel()
        timer = nil
        let waiters = Array(replies) + Array(confirmations)
        replies.removeAll()
        confirmations.removeAll()
        pending = 0
        for waiter in waiters { waiter.promise.fail(error) }
    }
}

@available(*, unavailable)
extension RedisConnectionHandler: Sendable {}
