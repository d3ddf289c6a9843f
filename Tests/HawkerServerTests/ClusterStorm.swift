import Foundation
import HawkerAuth
import HawkerProtocol
import HawkerTestSupport
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// Cluster mode with real processes: three `hawker serve` nodes on loopback ports sharing
/// one throwaway redis-server. Nodes are killed with SIGKILL and Redis is restarted, as
/// in production. "Storm": scripts/test.sh runs it after the other suites, on its own.
@Suite(.serialized, .enabled(if: RedisServer.enabled, "needs redis-server (always under CI)"))
struct ClusterStorm {
    static let secret = "cluster-secret-0123456789abcdef0123456789abcdef"

    /// An event published on node 1 reaches viewers on nodes 2 and 3 in order, once each;
    /// a viewer that leaves node 2 resumes on node 3 with exactly what it missed.
    @Test(.timeLimit(.minutes(5)))
    func anEventPublishedOnOneNodeReachesViewersOnTheOthersInOrder() async throws {
        let cluster = try await Cluster.start(nodes: 3)
        defer { cluster.stopAll() }
        let stream = "fanout"
        let host = try await cluster.connect(node: 0, .host, sub: "host", stream: stream)
        _ = try await cluster.publish(host, stream, "announcement", ["text": "first"])
        let viewers = try await [1, 2, 1, 2].enumerated().asyncMap { index, node in
            try await cluster.connect(node: node, .viewer, sub: "viewer-\(index)", stream: stream)
        }
        for viewer in viewers {
            let subscribed = try await OrderReliabilityStorm.request(viewer, ["type": "subscribe", "id": "s", "stream": .string(stream)])
            #expect(subscribed["type"] == "subscribed" && subscribed["seq"] == 1, "\(subscribed)")
        }
        var published: [Int64] = []
        for index in 0..<50 { published.append(try await cluster.publish(host, stream, "announcement", ["text": .string("e\(index)")])) }
        #expect(published == Array(2...51))
        for viewer in viewers {
            #expect(try await Self.events(viewer, count: 50) == Array(2...51))
        }
        // Presence counts the viewers of every node (two on each mirror).
        try await Self.eventually("the stream's node counts the four viewers on the others") {
            try await Self.state(of: stream, on: cluster, node: 2)["state"]?["viewers"] == 4
        }

        // Viewer 0 (on node 2) leaves after seq 51; five more events; it comes back on node 3.
        let epoch = try await Self.epoch(of: stream, on: cluster, node: 0)
        await viewers[0].close()
        var missed: [Int64] = []
        for index in 0..<5 { missed.append(try await cluster.publish(host, stream, "announcement", ["text": .string("missed \(index)")])) }
        let back = try await cluster.connect(node: 2, .viewer, sub: "viewer-0", stream: stream)
        let resumed = try await OrderReliabilityStorm.request(
            back, ["type": "subscribe", "id": "r", "stream": .string(stream), "since": ["epoch": .string(epoch), "seq": 51]])
        #expect(resumed["recovered"] == true && resumed["replayed"] == 5, "\(resumed)")
        #expect(try await Self.events(back, count: 5) == missed)
        for client in viewers.dropFirst() + [back, host] { await client.close() }
    }

    /// The node running a sale is killed (SIGKILL) in the middle of it: another node takes
    /// the stream over from Redis within the lease time. Viewers of the dead node resume
    /// on the others without a gap, the room goes on with its questions and bans, the
    /// sequence goes on, and a checkout storm over the two live nodes sells exactly the
    /// stock.
    @Test(.timeLimit(.minutes(5)))
    func theStreamsNodeDiesMidSaleAndAnotherTakesOver() async throws {
        let cluster = try await Cluster.start(nodes: 3)
        defer { cluster.stopAll() }
        let stream = "sale"
        // The host publishes on node 1 first: node 1 runs the stream.
        let host = try await cluster.connect(node: 0, .host, sub: "host", stream: stream)
        let tee: JSONValue = ["id": "tee", "title": "Tee", "merchant": "m1", "price": 2_500, "currency": "EUR", "stock": 60]
        _ = try await cluster.publish(host, stream, "catalog.set", ["products": [tee]])
        _ = try await cluster.publish(host, stream, "product.pinned", ["product": "tee"])

        // A question asked on node 2, a ban from a moderator on node 3.
        let asker = try await cluster.connect(node: 1, .viewer, sub: "asker", stream: stream)
        let asked = try await OrderReliabilityStorm.request(asker, ["type": "question.ask", "id": "q", "stream": .string(stream), "text": "Does it come in blue?"])
        #expect(asked["type"] != "error", "\(asked)")
        let moderator = try await cluster.connect(node: 2, .moderator, sub: "mod", stream: stream)
        let banned = try await OrderReliabilityStorm.request(
            moderator, ["type": "moderate", "id": "b", "stream": .string(stream), "action": "ban_user", "user": "troll"])
        #expect(banned["type"] != "error", "\(banned)")

        // Viewers on every node, the dead node's included.
        var viewers: [(client: TestClient, seq: Int64)] = []
        for node in 0..<3 {
            let viewer = try await cluster.connect(node: node, .viewer, sub: "viewer-\(node)", stream: stream)
            let subscribed = try await OrderReliabilityStorm.request(viewer, ["type": "subscribe", "id": "s", "stream": .string(stream)])
            viewers.append((viewer, try #require(subscribed["seq"]?.intValue)))
        }
        let epoch = try await Self.epoch(of: stream, on: cluster, node: 1)
        // Rooms are saved every 100 ms; the kill comes after a save.
        try await Task.sleep(for: .milliseconds(500))
        try await cluster.nodes[0].killNine()

        // A publish through node 2 is refused as retryable until node 2 or 3 took over.
        let host2 = try await cluster.connect(node: 1, .host, sub: "host", stream: stream)
        let afterKill = try await cluster.publish(host2, stream, "announcement", ["text": "we are back"], retrying: true)
        #expect(afterKill == viewers[1].seq + 1, "the sequence goes on without a gap")

        // The dead node's viewer resumes on node 3 with what it missed; the others never left.
        let moved = try await cluster.connect(node: 2, .viewer, sub: "viewer-0", stream: stream)
        let resumed = try await OrderReliabilityStorm.request(
            moved, ["type": "subscribe", "id": "r", "stream": .string(stream), "since": ["epoch": .string(epoch), "seq": .int(viewers[0].seq)]])
        #expect(resumed["recovered"] == true && resumed["replayed"] == .int(afterKill - viewers[0].seq), "\(resumed)")
        #expect(try await Self.events(moved, count: Int(afterKill - viewers[0].seq)).last == afterKill)
        for viewer in viewers.dropFirst() {
            #expect(try await Self.events(viewer.client, count: 1) == [afterKill])
        }

        // The room went on: its question is there, the ban holds on every node.
        let state = try #require(try await Self.state(of: stream, on: cluster, node: 1)["state"])
        #expect(state["questions"]?.arrayValue?.contains { $0["text"] == "Does it come in blue?" } == true, "\(state)")
        for node in [1, 2] {
            let troll = try await cluster.connect(node: node, .viewer, sub: "troll", stream: stream)
            let refused = try await OrderReliabilityStorm.request(troll, ["type": "chat.send", "id": "c", "stream": .string(stream), "text": "spam"])
            #expect(refused["type"] == "error", "a banned user's chat on node \(node + 1): \(refused)")
            await troll.close()
        }

        // A checkout storm over the two live nodes: exactly the 60 units.
        let storm = try await Self.checkoutStorm(cluster, stream: stream, product: "tee", nodes: [1, 2], buyers: 40, each: 10, price: 2_500)
        #expect(storm.accepted == 60)
        #expect(storm.soldOut == 340)
        #expect(storm.other.count == 0, "\(Set(storm.other).prefix(5))")
        for client in [host, host2, asker, moderator, moved] + viewers.map(\.client) { await client.close() }
    }

    /// The stream's node is killed with orders it accepted still on their way (the
    /// merchant's webhook failing): with the outbox the nodes share, the other nodes deliver
    /// every accepted checkout to the merchant, under its idempotency key, and every buyer
    /// hears of their order on the node they are connected to or come back to.
    @Test(.timeLimit(.minutes(5)), .enabled(if: OrderBackendConformanceTests.postgresURL != nil, "needs PostgreSQL (always under CI)"))
    func aDeadNodesAcceptedCheckoutsReachTheMerchantFromTheOthers() async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        receiver.behave(.fail(status: 503))
        let cluster = try await Cluster.start(
            nodes: 3,
            settings: try Self.sharedOutbox([
                "orders.claim_ms=2000", "merchants.m1.backend=webhook", "merchants.m1.url=\(receiver.url)", "merchants.m1.secret=\(receiver.secret)",
                "merchants.m1.timeout_ms=1500", "orders.retry_base_ms=100", "orders.retry_max_ms=1000", "orders.breaker_cooldown_ms=500",
            ]))
        defer { cluster.stopAll() }
        let stream = "outbox"
        let host = try await Self.openSale(cluster, stream: stream, stock: 100)

        // Buyers on the node that will die (it runs the stream) and on node 2.
        var buyers: [(sub: String, client: TestClient, checkouts: [String])] = []
        for (index, node) in [0, 0, 0, 0, 0, 0, 1, 1].enumerated() {
            let client = try await cluster.connect(node: node, .viewer, sub: "buyer-\(index)", stream: stream)
            buyers.append(("buyer-\(index)", client, try await Self.buy(client, stream: stream, count: 3)))
        }
        let accepted = Set(buyers.flatMap(\.checkouts))
        #expect(accepted.count == 24)
        // The merchant is down: nothing is confirmed yet.
        try await Self.eventually("the nodes try to deliver") { receiver.requests.count >= 3 }
        #expect(receiver.orders.isEmpty)

        try await cluster.nodes[0].killNine()
        receiver.behave(.confirm)
        try await receiver.waitForOrders(atLeast: accepted.count, seconds: 90)
        // Every accepted checkout reached the merchant, under its key; nothing else did.
        #expect(Set(receiver.orders.keys) == Set(accepted.map { "\($0):m1" }))
        let keys = receiver.requests.compactMap(\.idempotencyKey)
        print("shared outbox: \(accepted.count) orders, \(keys.count) webhook requests (\(receiver.requests.count - keys.count) without key)")

        // Every buyer learns the result: the dead node's on the node they come back to
        // (stored notices), node 2's live, whichever node delivered the order.
        for (index, buyer) in buyers.enumerated() {
            let client = index < 6 ? try await cluster.connect(node: 1 + index % 2, .viewer, sub: buyer.sub, stream: stream) : buyer.client
            #expect(try await Self.confirmations(client, of: Set(buyer.checkouts), buyer: buyer.sub) == Set(buyer.checkouts), "\(buyer.sub)")
            await client.close()
        }
        await host.close()
        await receiver.stop()
    }

    /// A merchant's order service connected to one node gets the orders accepted on every
    /// node (the others leave them to that node's relay), and its answers reach each
    /// buyer on the node the buyer is on.
    @Test(.timeLimit(.minutes(5)), .enabled(if: OrderBackendConformanceTests.postgresURL != nil, "needs PostgreSQL (always under CI)"))
    func anOrderServiceOnOneNodeServesTheOrdersOfEveryNode() async throws {
        let cluster = try await Cluster.start(
            nodes: 3,
            settings: try Self.sharedOutbox([
                "merchants.m1.backend=order_service", "merchants.m1.visibility_timeout_ms=5000", "orders.claim_ms=10000", "orders.retry_base_ms=100",
                "orders.retry_max_ms=1000",
            ]))
        defer { cluster.stopAll() }
        let stream = "services"
        let host = try await Self.openSale(cluster, stream: stream, stock: 100)
        let service = try await cluster.connect(node: 2, .orderService, sub: "svc", stream: stream, merchant: "m1")
        let subscribed = try await OrderReliabilityStorm.request(service, ["type": "orders.subscribe", "id": "o"])
        #expect(subscribed["type"] == "orders.subscribed", "\(subscribed)")

        var buyers: [(client: TestClient, checkouts: Set<String>)] = []
        for (index, node) in [0, 1, 0, 1].enumerated() {
            let client = try await cluster.connect(node: node, .viewer, sub: "buyer-\(index)", stream: stream)
            buyers.append((client, Set(try await Self.buy(client, stream: stream, count: 3))))
        }
        let accepted = buyers.reduce(into: Set<String>()) { $0.formUnion($1.checkouts) }
        var requested: Set<String> = []
        while requested.count < accepted.count {
            let order = try await OrderReliabilityStorm.read(service, "order.requested", seconds: 60) { $0["type"] == "order.requested" }
            let id = try #require(order["checkout_id"]?.stringValue)
            // Never tried by a node without the service: the first attempt reaches it.
            #expect(order["attempt"] == 1, "\(order)")
            requested.insert(id)
            try await service.send(["type": "ack", "id": .string("a-\(id)"), "delivery": order["delivery"]!, "result": "confirmed", "reference": .string("R-\(id)")])
        }
        #expect(requested == accepted)
        for (index, buyer) in buyers.enumerated() {
            #expect(try await Self.confirmations(buyer.client, of: buyer.checkouts, buyer: "buyer-\(index)") == buyer.checkouts)
            await buyer.client.close()
        }
        await service.close()
        await host.close()
    }

    /// 10,000 checkouts for 100 units, from buyers on three nodes: exactly 100 accepted.
    @Test(.timeLimit(.minutes(5)))
    func tenThousandCheckoutsOverThreeNodesSellExactlyTheStock() async throws {
        // Leases of 5 s (the default): this storm loads the two cores for seconds.
        let cluster = try await Cluster.start(nodes: 3, leaseMilliseconds: 5_000)
        defer { cluster.stopAll() }
        let stream = "drop"
        let host = try await cluster.connect(node: 0, .host, sub: "host", stream: stream)
        let drop: JSONValue = ["id": "drop", "title": "Drop", "merchant": "m1", "price": 5_000, "currency": "EUR", "stock": 100]
        _ = try await cluster.publish(host, stream, "catalog.set", ["products": [drop]])
        _ = try await cluster.publish(host, stream, "product.pinned", ["product": "drop"])
        let storm = try await Self.checkoutStorm(cluster, stream: stream, product: "drop", nodes: [0, 1, 2], buyers: 100, each: 100, price: 5_000)
        #expect(storm.accepted == 100, "\(storm.retries) retries")
        #expect(storm.soldOut == 9_900)
        #expect(storm.other.count == 0, "\(Set(storm.other).prefix(5))")
        let level = try await Self.state(of: stream, on: cluster, node: 2)["state"]?["catalog"]?.arrayValue?.first?["stock"]
        #expect(level == 0)
        await host.close()
    }

    /// Redis restarted under a live cluster: while it is away viewers stay connected,
    /// publishes are refused as retryable and /readyz says not ready; once it is back,
    /// everything resumes by itself.
    @Test(.timeLimit(.minutes(5)))
    func redisRestartedUnderALiveCluster() async throws {
        let cluster = try await Cluster.start(nodes: 2)
        defer { cluster.stopAll() }
        let stream = "outage"
        let host = try await cluster.connect(node: 0, .host, sub: "host", stream: stream)
        _ = try await cluster.publish(host, stream, "announcement", ["text": "before"])
        let viewer = try await cluster.connect(node: 1, .viewer, sub: "viewer", stream: stream)
        _ = try await OrderReliabilityStorm.request(viewer, ["type": "subscribe", "id": "s", "stream": .string(stream)])

        await cluster.redis.stop()
        for node in cluster.nodes {
            try await Self.eventually("node \(node.port) says not ready") {
                (try? await HTTP.request("GET", port: node.port, path: "/readyz"))?.status == 503
            }
        }
        let refused = try await OrderReliabilityStorm.request(host, OrderReliabilityStorm.publish(stream, "announcement", ["text": "lost?"]))
        #expect(refused["type"] == "error" && refused["code"] == "unavailable" && refused["retry_after_ms"] != nil, "\(refused)")

        try await cluster.redis.restart()
        for node in cluster.nodes {
            try await Self.eventually("node \(node.port) ready again") {
                (try? await HTTP.request("GET", port: node.port, path: "/readyz"))?.status == 200
            }
        }
        let after = try await cluster.publish(host, stream, "announcement", ["text": "after"], retrying: true)
        #expect(after == 2, "nothing was sequenced while Redis was away")
        #expect(try await Self.events(viewer, count: 1) == [2])
        await host.close()
        await viewer.close()
    }

    // MARK: - Helpers

    /// The seqs of the next `count` events `client` receives (pushes skipped).
    /// Settings for a cluster on the shared PostgreSQL outbox, in a schema of its own.
    static func sharedOutbox(_ more: [String]) throws -> [String] {
        let schema = "cluster_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return ["orders.outbox_url=\(try #require(OrderBackendConformanceTests.postgresURL))", "orders.outbox_schema=\(schema)"] + more
    }

    /// The host, on node 1 (which then runs the stream), sells one pinned product of m1.
    static func openSale(_ cluster: Cluster, stream: String, stock: Int) async throws -> TestClient {
        let host = try await cluster.connect(node: 0, .host, sub: "host", stream: stream)
        let tee: JSONValue = ["id": "tee", "title": "Tee", "merchant": "m1", "price": 2_500, "currency": "EUR", "stock": .int(Int64(stock))]
        _ = try await cluster.publish(host, stream, "catalog.set", ["products": [tee]])
        _ = try await cluster.publish(host, stream, "product.pinned", ["product": "tee"])
        return host
    }

    /// `count` checkouts of one tee, one after the other; the accepted checkouts' ids.
    static func buy(_ client: TestClient, stream: String, count: Int) async throws -> [String] {
        var checkouts: [String] = []
        for attempt in 0..<count {
            let reply = try await OrderReliabilityStorm.request(
                client,
                [
                    "type": "checkout", "id": .string("k\(attempt)"), "stream": .string(stream), "region": "DE", "idempotency_key": .string("key-\(attempt)"),
                    "items": [["product": "tee", "qty": 1, "price_seen": 2_500]],
                ])
            #expect(reply["type"] == "checkout.accepted", "\(reply)")
            if let id = reply["checkout_id"]?.stringValue { checkouts.append(id) }
        }
        return checkouts
    }

    /// Reads `client` until it was told `order.confirmed` for each of `checkouts`.
    static func confirmations(_ client: TestClient, of checkouts: Set<String>, buyer: String) async throws -> Set<String> {
        var told: Set<String> = []
        while told.count < checkouts.count {
            let notice = try await OrderReliabilityStorm.read(client, "order notices for \(buyer)", seconds: 60) { $0["type"] == "order.confirmed" }
            if let id = notice["checkout_id"]?.stringValue { told.insert(id) }
        }
        return told
    }

    static func events(_ client: TestClient, count: Int) async throws -> [Int64] {
        var seqs: [Int64] = []
        while seqs.count < count {
            let event = try await OrderReliabilityStorm.read(client, "event \(seqs.count + 1) of \(count)", seconds: 30) { $0["type"] == "event" }
            seqs.append(event["seq"]?.intValue ?? -1)
        }
        return seqs
    }

    static func state(of stream: String, on cluster: Cluster, node: Int) async throws -> JSONValue {
        let token = try await cluster.token(.admin, sub: "ops", stream: stream)
        let response = try await HTTP.request("GET", port: cluster.nodes[node].port, path: "/v1/streams/\(stream)", headers: ["Authorization": "Bearer \(token)"])
        try #require(response.status == 200, "GET state: \(response.status) \(response.body)")
        return try JSONParser.parse(ByteBuffer(string: response.body))
    }

    static func epoch(of stream: String, on cluster: Cluster, node: Int) async throws -> String {
        let state = try await state(of: stream, on: cluster, node: node)
        return try #require(state["epoch"]?.stringValue, "\(state)")
    }

    static func eventually(_ what: String, _ condition: @Sendable () async throws -> Bool) async throws {
        for _ in 0..<600 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("not within 30 s: \(what)")
    }

    struct StormResult {
        var accepted = 0
        var soldOut = 0
        var other: [String] = []
        var retries = 0
    }

    /// `buyers` buyers spread over `nodes`, each sending `each` checkouts of one unit at once.
    static func checkoutStorm(_ cluster: Cluster, stream: String, product: String, nodes: [Int], buyers: Int, each: Int, price: Int64) async throws -> StormResult {
        try await withThrowingTaskGroup(of: StormResult.self) { group in
            for index in 0..<buyers {
                group.addTask {
                    let buyer = try await cluster.connect(node: nodes[index % nodes.count], .viewer, sub: "buyer-\(index)", stream: stream)
                    for attempt in 0..<each {
                        try await buyer.send([
                            "type": "checkout", "id": .string("k\(attempt)"), "stream": .string(stream), "region": "DE",
                            "idempotency_key": .string("storm-\(attempt)"), "items": [["product": .string(product), "qty": 1, "price_seen": .int(price)]],
                        ])
                    }
                    var result = StormResult()
                    var answered = 0
                    while answered < each {
                        let reply = try await OrderReliabilityStorm.read(buyer, "checkout answers", seconds: 120) { $0["re"] != nil }
                        // Refused as retryable (the stream's node busy, or moving): sent again
                        // after the delay it asks for, as the SDK does.
                        if reply["code"] == "unavailable", let id = reply["re"]?.stringValue, let attempt = Int(id.dropFirst()) {
                            result.retries += 1
                            try await Task.sleep(for: .milliseconds(reply["retry_after_ms"]?.intValue ?? 500))
                            try await buyer.send([
                                "type": "checkout", "id": .string(id), "stream": .string(stream), "region": "DE",
                                "idempotency_key": .string("storm-\(attempt)"), "items": [["product": .string(product), "qty": 1, "price_seen": .int(price)]],
                            ])
                            continue
                        }
                        answered += 1
                        if reply["type"] == "checkout.accepted" {
                            result.accepted += 1
                        } else if reply["code"] == "sold_out" {
                            result.soldOut += 1
                        } else {
                            result.other.append("\(reply["code"]?.stringValue ?? "?"): \(reply["message"]?.stringValue ?? "\(reply)")")
                        }
                    }
                    await buyer.close()
                    return result
                }
            }
            var total = StormResult()
            for try await result in group {
                total.accepted += result.accepted
                total.soldOut += result.soldOut
                total.other += result.other
                total.retries += result.retries
            }
            return total
        }
    }
}

/// Gateway processes in cluster mode on one throwaway Redis (its log and data per node in
/// a temporary directory).
final class Cluster: Sendable {
    let redis: RedisServer
    let nodes: [GatewayProcess]
    let directory: String

    private init(redis: RedisServer, nodes: [GatewayProcess], directory: String) {
        self.redis = redis
        self.nodes = nodes
        self.directory = directory
    }

    /// Short leases, so that a takeover comes within seconds; rooms saved every 100 ms;
    /// buyers and hosts not held back by the per-connection rate limits.
    static func start(nodes count: Int, leaseMilliseconds: Int = 1_500, settings extra: [String] = []) async throws -> Cluster {
        try #require(FileManager.default.isExecutableFile(atPath: GatewayProcess.binary.path), "build first: swift build")
        let redis = try await RedisServer.start(appendOnly: true)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-cluster-\(UUID().uuidString)").path
        var nodes: [GatewayProcess] = []
        for index in 0..<count {
            let data = directory + "/node-\(index + 1)"
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            let settings =
                [
                    "cluster.redis_url=\(redis.url)", "cluster.node_id=node-\(index + 1)", "cluster.lease_ms=\(leaseMilliseconds)",
                    "jwt.secret=\(ClusterStorm.secret)", "log.level=\(ProcessInfo.processInfo.environment["HAWKER_CLUSTER_LOG_LEVEL"] ?? "warning")", "state.save_interval_ms=100",
                    "session.commands_per_second=100000", "session.command_burst=100000",
                    "quota.checkouts_per_minute=600000", "quota.checkout_burst=100000",
                    // Not under test, and a loaded CI machine can be slow between handshake and connect.
                    "session.connect_timeout_ms=60000",
                ] + extra
            let node = try GatewayProcess.launch(
                port: try await GatewayProcess.freePort(), arguments: ["--data-dir", data] + settings.flatMap { ["--set", $0] },
                logPath: directory + "/node-\(index + 1).log")
            nodes.append(node)
        }
        let cluster = Cluster(redis: redis, nodes: nodes, directory: directory)
        do {
            for node in nodes { try await node.waitUntilHealthy() }
        } catch {
            cluster.stopAll()
            throw error
        }
        return cluster
    }

    func token(_ role: Role, sub: String, stream: String, merchant: String? = nil) async throws -> String {
        let issuer = await TokenIssuer(hmacSecret: ClusterStorm.secret)
        return try await issuer.issue(subject: sub, role: role, streams: merchant == nil ? [stream] : [], merchant: merchant, ttl: 3_600)
    }

    func connect(node: Int, _ role: Role, sub: String, stream: String, merchant: String? = nil) async throws -> TestClient {
        try await OrderReliabilityStorm.connect(port: nodes[node].port, token: try await token(role, sub: sub, stream: stream, merchant: merchant))
    }

    /// Publishes and returns the event's seq; with `retrying`, an `unavailable` refusal
    /// (the stream between nodes, Redis away) is tried again after its retry delay.
    func publish(_ host: TestClient, _ stream: String, _ kind: String, _ data: [String: JSONValue], retrying: Bool = false) async throws -> Int64 {
        for _ in 0..<200 {
            let reply = try await OrderReliabilityStorm.request(host, OrderReliabilityStorm.publish(stream, kind, data))
            if reply["type"] == "published", let seq = reply["seq"]?.intValue { return seq }
            guard retrying, reply["code"] == "unavailable" else { throw PublishFailed(description: "\(kind): \(reply)") }
            try await Task.sleep(for: .milliseconds(max(50, reply["retry_after_ms"]?.intValue ?? 100)))
        }
        throw PublishFailed(description: "\(kind): still unavailable")
    }

    struct PublishFailed: Error, CustomStringConvertible {
        let description: String
    }

    func stopAll() {
        for node in nodes { node.stop() }
        let redis = self.redis
        // Synchronous, for `defer`: the server is stopped on a task of its own.
        Task { await redis.stop() }
        // HAWKER_KEEP_CLUSTER_LOGS=1 keeps the nodes' logs and data to look at.
        if ProcessInfo.processInfo.environment["HAWKER_KEEP_CLUSTER_LOGS"] != "1" { try? FileManager.default.removeItem(atPath: directory) }
    }
}

extension Sequence where Element: Sendable {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
