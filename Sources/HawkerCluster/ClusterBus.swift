import HawkerRedis
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// Requests between gateway nodes over Redis pub/sub: each node listens on its inbox
/// channel; a request names the sender, whose inbox gets the answer.
///
/// Pub/sub delivers at most once and keeps nothing, so every request is bounded: it fails
/// at once when no node listens on the inbox (PUBLISH reached nobody: that node is gone),
/// and after `timeout` when no answer came (the node died meanwhile, or is too slow).
/// A request may then still have run: callers make what they send safe to repeat.
public final class ClusterBus: Sendable {
    /// Answers a request addressed to this node; a thrown error reaches the sender as
    /// `ClusterBusError.failed`.
    public typealias Handler = @Sendable (ByteBuffer) async throws -> ByteBuffer

    private struct Waiting {
        var promise: EventLoopPromise<ByteBuffer>
        var timeout: Scheduled<Void>
    }

    public let node: String
    private let redis: any Redis
    private let prefix: String
    private let eventLoop: any EventLoop
    private let timeout: TimeAmount
    private let maxWaiting: Int
    private let handler: NIOLockedValueBox<Handler?> = NIOLockedValueBox(nil)
    private let waiting = NIOLockedValueBox<[UInt64: Waiting]>([:])
    /// Starts anywhere: a node restarted under the same id must not take late answers
    /// meant for its previous run as answers to its own requests.
    private let nextID = Atomic<UInt64>(UInt64.random(in: 1...(1 << 62)))
    /// Requests from other nodes being handled here; past `maxWaiting`, refused.
    private let handling = Atomic<Int>(0)
    /// Requests handled at once (most of their time is spent waiting for a commit); the
    /// others wait here, in order. A burst of requests must not flood the concurrency pool
    /// with tasks: the leases' renewals run there too.
    private let concurrency: Int
    private let queue = NIOLockedValueBox<(running: Int, waiting: CircularBuffer<@Sendable () async -> Void>)>((0, []))

    /// - Parameters:
    ///   - timeout: how long a request waits for its answer.
    ///   - maxWaiting: requests waiting at once; past it, new ones fail (`overloaded`).
    public init(
        node: String, redis: any Redis, prefix: String = "hawker", eventLoop: any EventLoop, timeout: TimeAmount = .seconds(2), maxWaiting: Int = 10_000,
        concurrency: Int = 1_024
    ) {
        self.concurrency = max(1, concurrency)
        self.node = node
        self.redis = redis
        self.prefix = prefix
        self.eventLoop = eventLoop
        self.timeout = timeout
        self.maxWaiting = maxWaiting
    }

    /// A node's inbox channel.
    public static func inbox(of node: String, prefix: String) -> String { prefix + ":node:" + node }

    /// The channel this node must be subscribed to (the client's subscription); its
    /// messages go to `receive`.
    public var inbox: String { Self.inbox(of: node, prefix: prefix) }

    /// Starts answering requests with `handler`.
    public func serve(_ handler: @escaping Handler) {
        self.handler.withLockedValue { $0 = handler }
    }

    /// Sends `body` to `node` and waits for its answer.
    public func request(_ body: ByteBuffer, to node: String) async throws -> ByteBuffer {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let promise = eventLoop.makePromise(of: ByteBuffer.self)
        let added = waiting.withLockedValue { waiting -> Bool in
            guard waiting.count < maxWaiting else { return false }
            let timeout = eventLoop.scheduleTask(in: self.timeout) { [weak self] () -> Void in
                self?.complete(id, with: .failure(ClusterBusError(.timedOut, "no answer from node '\(node)' in time")))
            }
            waiting[id] = Waiting(promise: promise, timeout: timeout)
            return true
        }
        guard added else {
            promise.fail(ClusterBusError(.overloaded, "\(maxWaiting) requests wait for answers"))
            return try await promise.futureResult.get()
        }
        do {
            let message = ClusterBusMessage.request(id: id, from: self.node, body: body).encoded
            let receivers = try await redis.send(RedisCommand("PUBLISH", [.string(Self.inbox(of: node, prefix: prefix)), .bytes(message)]))
            if receivers.int64 == 0 { complete(id, with: .failure(ClusterBusError(.noSuchNode, "node '\(node)' does not listen"))) }
        } catch {
            complete(id, with: .failure(error))
        }
        return try await promise.futureResult.get()
    }

    /// Sends `body` to `node` without waiting for anything: it is on its way (in Redis's
    /// order, before anything this node sends after) when this returns; false when no node
    /// listens on that inbox.
    @discardableResult
    public func notify(_ body: ByteBuffer, to node: String) async throws -> Bool {
        let message = ClusterBusMessage.notice(from: self.node, body: body).encoded
        return try await redis.send(RedisCommand("PUBLISH", [.string(Self.inbox(of: node, prefix: prefix)), .bytes(message)])).int64 != 0
    }

    /// Publishes an answer; while the command connection is down (it may come up after the
    /// pub/sub one, or be reconnecting), tries again for a few seconds: the sender waits.
    private static func answer(_ message: ClusterBusMessage, on channel: String, redis: any Redis) async {
        for attempt in 0..<50 {
            do {
                _ = try await redis.send(RedisCommand("PUBLISH", [.string(channel), .bytes(message.encoded)]))
                return
            } catch let error as RedisError where error.isRetryable {
                try? await Task.sleep(for: .milliseconds(min(20 << min(attempt, 4), 200)))
            } catch {
                return
            }
        }
    }

    /// Runs `work` in a task now if fewer than `concurrency` run, else after those before it.
    private func enqueue(_ work: @escaping @Sendable () async -> Void) {
        let start = queue.withLockedValue { queue -> Bool in
            guard queue.running < concurrency else {
                queue.waiting.append(work)
                return false
            }
            queue.running += 1
            return true
        }
        guard start else { return }
        Task {
            var next: (@Sendable () async -> Void)? = work
            while let work = next {
                await work()
                next = queue.withLockedValue { queue in
                    if let waiting = queue.waiting.popFirst() { return waiting }
                    queue.running -= 1
                    return nil
                }
            }
        }
    }

    private func complete(_ id: UInt64, with result: Result<ByteBuffer, any Error>) {
        guard let entry = waiting.withLockedValue({ $0.removeValue(forKey: id) }) else { return }
        entry.timeout.cancel()
        entry.promise.completeWith(result)
    }

    /// A message from this node's inbox.
    public func receive(_ payload: ByteBuffer) {
        switch ClusterBusMessage(payload) {
        case .request(let id, let from, let body):
            let redis = self.redis
            let channel = Self.inbox(of: from, prefix: prefix)
            let handler = handler.withLockedValue { $0 }
            // Refused at once rather than left to time out: no handler yet, or too many.
            let admitted = handler != nil && handling.wrappingAdd(1, ordering: .relaxed).newValue <= maxWaiting
            guard let handler, admitted else {
                if handler != nil { handling.wrappingSubtract(1, ordering: .relaxed) }
                let refusal = ClusterBusMessage.failure(id: id, reason: handler == nil ? "node '\(node)' is not serving yet" : "node '\(node)' is overloaded")
                Task { await Self.answer(refusal, on: channel, redis: redis) }
                return
            }
            let received = NIODeadline.now()
            let timeout = self.timeout
            enqueue {
                defer { self.handling.wrappingSubtract(1, ordering: .relaxed) }
                // Waited here past the sender's timeout: the sender gave up, the work is
                // not done (it would only delay the requests still awaited).
                guard NIODeadline.now() - received < timeout else { return }
                let answer: ClusterBusMessage
                do {
                    answer = .reply(id: id, body: try await handler(body))
                } catch {
                    answer = .failure(id: id, reason: "\(error)")
                }
                await Self.answer(answer, on: channel, redis: redis)
            }
        case .notice(_, let body):
            // Counted with the requests, so the queue stays bounded; past it, dropped (a
            // notice is never answered, its sender does not wait).
            guard let handler = handler.withLockedValue({ $0 }) else { return }
            guard handling.wrappingAdd(1, ordering: .relaxed).newValue <= maxWaiting else {
                handling.wrappingSubtract(1, ordering: .relaxed)
                return
            }
            enqueue {
                defer { self.handling.wrappingSubtract(1, ordering: .relaxed) }
                _ = try? await handler(body)
            }
        case .reply(let id, let body):
            complete(id, with: .success(body))
        case .failure(let id, let reason):
            complete(id, with: .failure(ClusterBusError(.failed, reason)))
        case nil:
            break
        }
    }
}
