import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import HawkerRedis

/// The handler alone, over an EmbeddedChannel: replies matched to the commands in order,
/// pushes handed on, and the bounds.
@Suite struct RedisConnectionHandlerTests {
    final class Harness {
        let channel = EmbeddedChannel()
        let messages = NIOLockedValueBox<[RedisMessage]>([])

        init(maxPending: Int = 100, timeout: TimeAmount = .seconds(5)) throws {
            let messages = self.messages
            try channel.pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(RESPDecoder(parser: RESPParser())),
                RedisConnectionHandler(maxPendingCommands: maxPending, commandTimeout: timeout) { message in messages.withLockedValue { $0.append(message) } },
            ])
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        }

        /// `confirmations`: a subscription command, confirmed once per channel.
        func send(_ commands: [RedisCommand], confirmations: Int? = nil) -> EventLoopFuture<[RESPValue]> {
            var encoded = ByteBuffer()
            for command in commands { encoded.writeImmutableBuffer(command.encoded) }
            let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
            // As RedisConnection does: a write that never reached the handler fails the request.
            channel.writeAndFlush(
                RedisRequest(encoded: encoded, answer: confirmations.map { .confirmations(count: $0) } ?? .replies(count: commands.count), promise: promise)
            ).whenFailure { promise.fail($0) }
            return promise.futureResult
        }

        func isDone(_ future: EventLoopFuture<[RESPValue]>) -> Bool {
            let done = NIOLockedValueBox(false)
            future.whenComplete { _ in done.withLockedValue { $0 = true } }
            return done.withLockedValue { $0 }
        }

        func receive(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
        }

        func written() throws -> String {
            var all = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { all += String(buffer: buffer) }
            return all
        }
    }

    @Test func repliesGoToTheirCommandsInOrder() throws {
        let harness = try Harness()
        let first = harness.send([RedisCommand("GET", ["a"]), RedisCommand("GET", ["b"])])
        let second = harness.send([RedisCommand("INCR", ["c"])])
        #expect(try harness.written() == "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n")
        try harness.receive("$1\r\n1\r\n-ERR no")
        try harness.receive("pe\r\n:5\r\n")
        #expect(try first.wait() == [.bulkString(ByteBuffer(string: "1")), .error("ERR nope")])
        #expect(try second.wait() == [.integer(5)])
    }

    @Test func pushesAreMessagesOrConfirmations() throws {
        let harness = try Harness()
        let subscribed = harness.send([RedisCommand("SUBSCRIBE", ["a", "b"])], confirmations: 2)
        let reply = harness.send([RedisCommand("PING")])
        _ = try harness.written()
        // A confirmation per channel, a message between them, and a reply in between too.
        try harness.receive(">3\r\n+subscribe\r\n+a\r\n:1\r\n>3\r\n+message\r\n+a\r\n$2\r\nhi\r\n+PONG\r\n>3\r\n+subscribe\r\n+b\r\n:2\r\n")
        #expect(try subscribed.wait().count == 2)
        #expect(try reply.wait() == [.simpleString("PONG")])
        try harness.receive(">3\r\n$8\r\nsmessage\r\n$1\r\nb\r\n$0\r\n\r\n")
        #expect(
            harness.messages.withLockedValue { $0 } == [
                RedisMessage(channel: "a", payload: ByteBuffer(string: "hi"), sharded: false), RedisMessage(channel: "b", payload: ByteBuffer(), sharded: true),
            ])
    }

    @Test func aRefusedSubscriptionFailsItsWaiter() throws {
        let harness = try Harness()
        let subscribed = harness.send([RedisCommand("SUBSCRIBE", ["secret"])], confirmations: 1)
        try harness.receive("-NOPERM no\r\n")
        #expect(throws: RedisError.self) { try subscribed.wait() }
        #expect(harness.channel.isActive, "the connection goes on")
    }

    @Test func aReplyNobodyWaitsForClosesTheConnection() throws {
        let harness = try Harness()
        try harness.receive("+OK\r\n")
        #expect(!harness.channel.isActive)
    }

    @Test func pastThePendingBoundCommandsAreRefusedUnsent() throws {
        let harness = try Harness(maxPending: 2)
        let first = harness.send([RedisCommand("PING"), RedisCommand("PING")])
        let refused = harness.send([RedisCommand("PING")])
        #expect(throws: RedisError(.overloaded, "2 commands are waiting for Redis's replies")) { try refused.wait() }
        try harness.receive("+PONG\r\n+PONG\r\n")
        #expect(try first.wait().count == 2)
        #expect(!harness.isDone(harness.send([RedisCommand("PING")])), "room again once answered")
    }

    @Test func aCommandUnansweredPastTheTimeoutClosesTheConnection() throws {
        let harness = try Harness(timeout: .seconds(1))
        let waiting = harness.send([RedisCommand("PING")])
        (harness.channel.eventLoop as! EmbeddedEventLoop).advanceTime(by: .milliseconds(999))
        #expect(!harness.isDone(waiting))
        (harness.channel.eventLoop as! EmbeddedEventLoop).advanceTime(by: .milliseconds(1))
        #expect(throws: RedisError.self) { try waiting.wait() }
        #expect(!harness.channel.isActive)
        #expect(throws: (any Error).self, "nothing is sent on a closed connection") { try harness.send([RedisCommand("PING")]).wait() }
    }

    @Test func aProtocolViolationFailsEverythingWaiting() throws {
        let harness = try Harness()
        let waiting = harness.send([RedisCommand("GET", ["a"])])
        try? harness.receive("?garbage\r\n")
        #expect(throws: RedisError.self) { try waiting.wait() }
        #expect(!harness.channel.isActive)
    }
}
