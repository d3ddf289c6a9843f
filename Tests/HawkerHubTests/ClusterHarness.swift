import HawkerCluster
import HawkerCommerce
import HawkerHub
import HawkerProtocol
import HawkerRedis
import HawkerTestSupport
import Logging
import NIOCore

/// Cluster nodes in this process, each with its own Redis connections, on one throwaway
/// redis-server: what the engine conformance suite runs the cluster kinds on.
struct ClusterHarness: Sendable {
    let redis: RedisServer
    let nodes: [ClusterEngine]
    private let tasks: [Task<Void, Never>]
    private let clients: [RedisClient]

    static func start(nodes count: Int, loops: [any EventLoop], leaseMilliseconds: Int64 = 5_000) async throws -> ClusterHarness {
        let redis = try await RedisServer.start()
        var nodes: [ClusterEngine] = []
        var clients: [RedisClient] = []
        var tasks: [Task<Void, Never>] = []
        for index in 0..<count {
            var logger = Logger(label: "cluster-node-\(index)")
            logger.logLevel = .warning
            let client = RedisClient(configuration: try RedisConfiguration(url: redis.url), eventLoopGroup: loops[0], logger: logger)
            let node = ClusterEngine(
                loops: loops, redis: client, configuration: ClusterConfiguration(node: "node-\(index)", leaseMilliseconds: leaseMilliseconds), logger: logger)
            node.attach(to: client)
            tasks.append(Task { try? await client.run() })
            tasks.append(Task { await node.run() })
            nodes.append(node)
            clients.append(client)
        }
        for client in clients {
            for _ in 0..<500 where !client.isAvailable { try await Task.sleep(for: .milliseconds(10)) }
        }
        return ClusterHarness(redis: redis, nodes: nodes, tasks: tasks, clients: clients)
    }

    func stop() async {
        for node in nodes { await node.leave() }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        await redis.stop()
    }
}

/// Two nodes as one engine: changes (publishes, commands, checkouts) go to one, the
/// subscribers and reads to the other, so that every promise of the suite is kept across
/// nodes.
struct SplitEngine: StreamEngine {
    let changes: ClusterEngine
    let views: ClusterEngine

    var now: Int64 { changes.now }

    func publish(_ draft: EventDraft, to stream: StreamID, creator: StreamCreator) -> EventLoopFuture<PublishReceipt> {
        changes.publish(draft, to: stream, creator: creator)
    }

    func perform(_ action: StreamAction, by author: Author, on stream: StreamID) -> EventLoopFuture<RoomOutcome> {
        changes.perform(action, by: author, on: stream)
    }

    func checkout(_ request: CheckoutRequest, buyer: String, checkoutID: String, on stream: StreamID) -> EventLoopFuture<StreamRoom.CheckoutOutcome> {
        changes.checkout(request, buyer: buyer, checkoutID: checkoutID, on: stream)
    }

    func quote(_ request: QuoteRequest, on stream: StreamID) -> EventLoopFuture<Result<Quote, CheckoutRejection>?> {
        views.quote(request, on: stream)
    }

    func abandon(_ reservation: Reservation, on stream: StreamID) {
        changes.abandon(reservation, on: stream)
    }

    func settle(checkoutID: String, merchant: String, confirmed: Bool, on stream: StreamID) {
        changes.settle(checkoutID: checkoutID, merchant: merchant, confirmed: confirmed, on: stream)
    }

    func returned(_ taken: Reservation, on stream: StreamID) {
        changes.returned(taken, on: stream)
    }

    func subscribe(_ stream: StreamID, since: StreamPosition?, creator: StreamCreator?, on eventLoop: any EventLoop) -> EventLoopFuture<SubscribeOutcome> {
        views.subscribe(stream, since: since, creator: creator, on: eventLoop)
    }

    func activate(_ subscriber: any StreamSubscriber, on stream: StreamID, staff: Bool, eventLoop: any EventLoop) {
        views.activate(subscriber, on: stream, staff: staff, eventLoop: eventLoop)
    }

    func unsubscribe(_ subscriber: any StreamSubscriber, from stream: StreamID, eventLoop: any EventLoop) {
        views.unsubscribe(subscriber, from: stream, eventLoop: eventLoop)
    }

    func snapshot(of stream: StreamID) -> EventLoopFuture<StreamSnapshot?> {
        views.snapshot(of: stream)
    }

    func busiestStreams(limit: Int, on eventLoop: any EventLoop) -> EventLoopFuture<[StreamStats]> {
        views.busiestStreams(limit: limit, on: eventLoop)
    }

    func insights(of stream: StreamID) -> EventLoopFuture<ByteBuffer?> {
        views.insights(of: stream)
    }
}
