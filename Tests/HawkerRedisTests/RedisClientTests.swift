import HawkerTestSupport
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import HawkerRedis

/// The client against a real redis-server (started by the test, killed and restarted by it).
@Suite(.enabled(if: RedisServer.enabled, "redis-server is not installed")) struct RedisClientTests {
    /// A running client and what it reported.
    final class Running: Sendable {
        let client: RedisClient
        let events = NIOLockedValueBox<[RedisClient.Event]>([])
        let messages = NIOLockedValueBox<[RedisMessage]>([])

        init(_ client: RedisClient) {
            self.client = client
            let events = self.events
            let messages = self.messages
            client.setHandlers(
                onMessage: { message in messages.withLockedValue { $0.append(message) } },
                onEvent: { event in events.withLockedValue { $0.append(event) } })
        }

        /// Waits (polling, up to 20 s) until `condition` holds.
        func eventually(_ what: String, _ condition: () async -> Bool) async throws {
            for _ in 0..<2_000 {
                if await condition() { return }
                try await Task.sleep(for: .milliseconds(10))
            }
            Issue.record("not reached in 20 s: \(what)")
            throw RedisServer.Failure(description: what)
        }
    }

    static func withClient(
        _ server: RedisServer, commandTimeout: TimeAmount = .seconds(5), _ body: (Running) async throws -> Void
    ) async throws {
        var configuration = try RedisConfiguration(url: server.url)
        configuration.reconnectBackoff = (.milliseconds(10), .milliseconds(100))
        configuration.commandTimeout = commandTimeout
        let running = Running(RedisClient(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await running.client.run() }
            defer { group.cancelAll() }
            try await running.eventually("connected") { running.client.isAvailable }
            try await body(running)
        }
    }

    @Test func commandsPipelineAndKeepTheirOrder() async throws {
        let server = try await RedisServer.start()
        try await Self.withClient(server) { running in
            let client = running.client
            #expect(try await client.send(RedisCommand("SET", ["k", "v"])) == .simpleString("OK"))
            #expect(try await client.send(RedisCommand("GET", ["k"])).string == "v")
            let replies = try await client.pipeline((1...1_000).map { _ in RedisCommand("INCR", ["n"]) })
            #expect(replies.map(\.int64) == (1...1_000).map { Int64($0) })
            // Many callers at once: each gets its own reply.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let reply = try await client.send(RedisCommand("ECHO", [.string("caller-\(index)")]))
                        #expect(reply.string == "caller-\(index)")
                    }
                }
                try await group.waitForAll()
            }
            await #expect(throws: RedisError.self) { try await client.send(RedisCommand("NOSUCHCOMMAND")) }
            let replies2 = try await client.pipeline([RedisCommand("INCR", ["k"]), RedisCommand("GET", ["n"])])
            #expect(replies2.count == 2)
            if case .error(let message) = replies2[0] { #expect(message.hasPrefix("ERR")) } else { Issue.record("an error reply stays a value in a pipeline") }
        }
    }

    @Test func scriptsRunByTheirHashAndAreSentWhenRedisForgotThem() async throws {
        let server = try await RedisServer.start()
        try await Self.withClient(server) { running in
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            #expect(try await running.client.evaluate(script, keys: ["counter"], arguments: [5]).int64 == 5)
            #expect(try await running.client.evaluate(script, keys: ["counter"], arguments: [2]).int64 == 7)
            _ = try await running.client.send(RedisCommand("SCRIPT", ["FLUSH"]))
            #expect(try await running.client.evaluate(script, keys: ["counter"], arguments: [1]).int64 == 8)
            let failing = RedisScript("return redis.error_reply('HAWKER_TEST refused')")
            await #expect(throws: RedisError.self) { try await running.client.evaluate(failing, keys: [], arguments: []) }
            do {
                _ = try await running.client.evaluate(failing, keys: [], arguments: [])
            } catch let error as RedisError {
                #expect(error.replyCode == "HAWKER_TEST")
            }
        }
    }

    @Test func subscribersGetMessagesPlainAndSharded() async throws {
        let server = try await RedisServer.start()
        try await Self.withClient(server) { running in
            try await running.eventually("pub/sub connected") { running.events.withLockedValue { $0.contains(.resubscribed) } }
            try await running.client.subscribe(["news"], sharded: false)
            try await running.client.subscribe(["stream:{a}", "stream:{b}"], sharded: true)
            #expect(try await running.client.send(RedisCommand("PUBLISH", ["news", "one"])).int64 == 1)
            #expect(try await running.client.send(RedisCommand("SPUBLISH", ["stream:{b}", "two"])).int64 == 1)
            try await running.eventually("both messages") { running.messages.withLockedValue { $0.count } == 2 }
            #expect(
                running.messages.withLockedValue { $0 } == [
                    RedisMessage(channel: "news", payload: ByteBuffer(string: "one"), sharded: false),
                    RedisMessage(channel: "stream:{b}", payload: ByteBuffer(string: "two"), sharded: true),
                ])
            try await running.client.unsubscribe(["news"], sharded: false)
            #expect(try await running.client.send(RedisCommand("PUBLISH", ["news", "three"])).int64 == 0)
        }
    }

    @Test func redisGoneMeansUnavailableThenEverythingComesBack() async throws {
        let server = try await RedisServer.start()
        try await Self.withClient(server) { running in
            try await running.eventually("pub/sub connected") { running.events.withLockedValue { $0.contains(.resubscribed) } }
            try await running.client.subscribe(["news"], sharded: false)
            await server.stop()
            try await running.eventually("unavailable") { !running.client.isAvailable }
            do {
                _ = try await running.client.send(RedisCommand("PING"))
                Issue.record("a command while Redis is down must fail")
            } catch let error as RedisError {
                #expect(error.isRetryable, "not sent, so safe to retry: \(error)")
            }
            try await server.restart()
            try await running.eventually("available again") { running.client.isAvailable }
            try await running.eventually("resubscribed") { running.events.withLockedValue { $0.filter { $0 == .resubscribed }.count } >= 2 }
            #expect(try await running.client.send(RedisCommand("PUBLISH", ["news", "back"])).int64 == 1)
            try await running.eventually("the message after the restart") {
                running.messages.withLockedValue { $0.last?.payload == ByteBuffer(string: "back") }
            }
            #expect(running.events.withLockedValue { $0.contains(.unavailable) })
        }
    }

    @Test func aHungRedisFailsCommandsAfterTheTimeout() async throws {
        let server = try await RedisServer.start()
        try await Self.withClient(server, commandTimeout: .milliseconds(300)) { running in
            server.pause()
            do {
                _ = try await running.client.send(RedisCommand("PING"))
                Issue.record("a hung server must not hang the caller")
            } catch let error as RedisError {
                #expect(error.code == .connectionClosed || error.code == .unavailable, "\(error)")
            }
            server.resume()
            try await running.eventually("a command goes through again") {
                (try? await running.client.send(RedisCommand("PING"))) == .simpleString("PONG")
            }
        }
    }

    @Test func aPasswordAndADatabaseFromTheURL() async throws {
        let server = try await RedisServer.start(extra: ["--requirepass", "s3cr@t"])
        var configuration = try RedisConfiguration(url: "redis://:s3cr%40t@127.0.0.1:\(server.port)/3")
        configuration.reconnectBackoff = (.milliseconds(10), .milliseconds(50))
        let client = RedisClient(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer { group.cancelAll() }
            let running = Running(client)
            try await running.eventually("connected with the password") { client.isAvailable }
            _ = try await client.send(RedisCommand("SET", ["in-3", "x"]))
            let keyspace = try await client.send(RedisCommand("INFO", ["keyspace"])).string ?? ""
            #expect(keyspace.contains("db3:keys=1"))
        }
        var wrong = try RedisConfiguration(url: "redis://:nope@127.0.0.1:\(server.port)")
        wrong.reconnectBackoff = (.milliseconds(10), .milliseconds(50))
        let refused = RedisClient(configuration: wrong, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await refused.run() }
            defer { group.cancelAll() }
            try await Task.sleep(for: .milliseconds(300))
            #expect(!refused.isAvailable, "a wrong password never counts as connected")
        }
    }
}
