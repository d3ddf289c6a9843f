import HawkerRedis
import HawkerTestSupport
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import HawkerCluster

/// Requests between nodes over a real redis-server: answered, failed fast when the node is
/// gone, timed out when it does not answer.
@Suite(.enabled(if: RedisServer.enabled, "redis-server is not installed")) struct ClusterBusTests {
    /// A node: its own Redis client, subscribed to its inbox.
    struct Node {
        let bus: ClusterBus
        let client: RedisClient
        let task: Task<Void, any Error>
    }

    /// Timeouts are generous (a loaded machine is slow), except where a test wants one.
    static func node(_ id: String, _ server: RedisServer, timeout: TimeAmount = .seconds(20)) async throws -> Node {
        var configuration = try RedisConfiguration(url: server.url)
        configuration.reconnectBackoff = (.milliseconds(10), .milliseconds(100))
        let client = RedisClient(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: id))
        let bus = ClusterBus(node: id, redis: client, prefix: "t", eventLoop: MultiThreadedEventLoopGroup.singleton.next(), timeout: timeout)
        client.setHandlers(onMessage: { message in bus.receive(message.payload) }, onEvent: { _ in })
        let task = Task { try await client.run() }
        for _ in 0..<2_000 {
            if client.isAvailable, (try? await client.subscribe([bus.inbox], sharded: false)) != nil { return Node(bus: bus, client: client, task: task) }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw RedisServer.Failure(description: "node \(id) did not subscribe")
    }

    @Test func requestsAreAnsweredByTheNodeTheyAreFor() async throws {
        let server = try await RedisServer.start()
        let a = try await Self.node("a", server)
        let b = try await Self.node("b", server)
        defer {
            a.task.cancel()
            b.task.cancel()
        }
        b.bus.serve { body in
            var reply = ByteBuffer(string: "b got ")
            reply.writeImmutableBuffer(body)
            return reply
        }
        #expect(try await a.bus.request(ByteBuffer(string: "hi"), to: "b") == ByteBuffer(string: "b got hi"))
        // Many at once, binary bodies: each gets its own answer.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<500 {
                group.addTask {
                    let body = ByteBuffer(bytes: [0, 10, UInt8(index % 256), 13])
                    var expected = ByteBuffer(string: "b got ")
                    expected.writeImmutableBuffer(body)
                    let answer = try await a.bus.request(body, to: "b")
                    #expect(answer == expected)
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func aNodeThatIsGoneFailsAtOnceAndOneThatDoesNotAnswerTimesOut() async throws {
        let server = try await RedisServer.start()
        let a = try await Self.node("a", server)
        let b = try await Self.node("b", server)
        let impatient = try await Self.node("impatient", server, timeout: .milliseconds(300))
        defer {
            a.task.cancel()
            b.task.cancel()
            impatient.task.cancel()
        }
        await #expect(throws: ClusterBusError(.noSuchNode, "node 'c' does not listen")) { try await a.bus.request(ByteBuffer(string: "x"), to: "c") }
        do {
            _ = try await a.bus.request(ByteBuffer(string: "early"), to: "b")
            Issue.record("a node not serving yet refuses")
        } catch let error as ClusterBusError {
            #expect(error.code == .failed, "refused at once, not left to time out: \(error)")
        }
        b.bus.serve { _ in
            try await Task.sleep(for: .seconds(30))
            return ByteBuffer()
        }
        do {
            _ = try await impatient.bus.request(ByteBuffer(string: "slow"), to: "b")
            Issue.record("an unanswered request must end")
        } catch let error as ClusterBusError {
            #expect(error.code == .timedOut)
        }
        struct Refused: Error {}
        b.bus.serve { _ in throw Refused() }
        do {
            _ = try await a.bus.request(ByteBuffer(string: "x"), to: "b")
            Issue.record("a failing handler must fail the request")
        } catch let error as ClusterBusError {
            #expect(error.code == .failed)
        }
    }

    @Test func messagesReadBack() {
        let messages: [ClusterBusMessage] = [
            .request(id: 7, from: "node-1", body: ByteBuffer(bytes: [10, 0, 13])), .reply(id: .max, body: ByteBuffer()), .failure(id: 1, reason: "no\nway"),
        ]
        for message in messages { #expect(ClusterBusMessage(message.encoded) == message) }
        for bad in ["", "Q 1\n", "Q x n\n", "R\n", "Z 1\n", "R 1 2\n"] { #expect(ClusterBusMessage(ByteBuffer(string: bad)) == nil, "\(bad)") }
    }
}
