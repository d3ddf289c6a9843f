import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import HawkerServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The gateway's own listener, on real sockets: connections reach the loops in turn with
/// their descriptors, a refused one is closed, and closing the listener stops accepting
/// without touching the connections.
@Suite struct SocketAcceptorTests {
    /// Echoes what it reads, so that a client sees its connection served.
    private final class Echo: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(data, promise: nil)
        }
    }

    private struct Accepted: Sendable {
        let loop: ObjectIdentifier
        /// The peer's port of the descriptor given with the channel, as the kernel reports
        /// it, and of the channel: the same when the descriptor is the channel's socket.
        let socketPeerPort: Int?
        let channelPeerPort: Int?
    }

    private static func peerPort(of socket: CInt) -> Int? {
        var address = sockaddr_in()
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(socket, $0, &size) }
        }
        guard named == 0 else { return nil }
        return SocketAddress(address).port
    }

    @Test func connectionsReachTheLoopsInTurnWithTheirSockets() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let accepted = NIOLockedValueBox<[Accepted]>([])
        let acceptor = try SocketAcceptor(
            host: "127.0.0.1", port: 0, options: .init(writeBufferWaterMark: .init(low: 1_024, high: 2_048), readBufferBytes: 512),
            logger: Logger(label: "test"))
        #expect(acceptor.localAddress.port != 0)
        #expect(acceptor.localAddress.ipAddress == "127.0.0.1")
        acceptor.start(group: group) { channel, socket in
            accepted.withLockedValue {
                $0.append(Accepted(loop: ObjectIdentifier(channel.eventLoop), socketPeerPort: Self.peerPort(of: socket), channelPeerPort: channel.remoteAddress?.port))
            }
            return channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Echo()) }
        }
        // Many at once, so that a round of the accept thread hands several to each loop.
        let port = acceptor.localAddress.port!
        let clients = try await withThrowingTaskGroup(of: RawConnection.self) { group in
            for _ in 0..<48 { group.addTask { try await RawConnection.open(port: port) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for (index, client) in clients.enumerated() {
            try await client.send("hello \(index)")
            #expect(await client.waitFor("hello \(index)"))
        }
        let seen = accepted.withLockedValue { $0 }
        #expect(seen.count == 48)
        #expect(Set(seen.map(\.loop)).count == 2)
        #expect(seen.allSatisfy { $0.socketPeerPort != nil && $0.socketPeerPort == $0.channelPeerPort })
        #expect(Set(seen.compactMap(\.socketPeerPort)).count == 48)

        // Closed: no new connection, and the ones it accepted still served.
        await acceptor.close()
        await #expect(throws: (any Error).self) { _ = try await RawConnection.open(port: acceptor.localAddress.port!) }
        try await clients[0].send("still here")
        #expect(await clients[0].waitFor("still here"))
        for client in clients { await client.close() }
        try await group.shutdownGracefully()
    }

    @Test func aRefusedConnectionIsClosed() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let acceptor = try SocketAcceptor(
            host: "127.0.0.1", port: 0, options: .init(writeBufferWaterMark: .init(low: 1_024, high: 2_048), readBufferBytes: 512),
            logger: Logger(label: "test"))
        struct Refused: Error {}
        acceptor.start(group: group) { channel, _ in channel.eventLoop.makeFailedFuture(Refused()) }
        let client = try await RawConnection.open(port: acceptor.localAddress.port!)
        #expect(await client.closedByServer(within: 10))
        await acceptor.close()
        try await group.shutdownGracefully()
    }

    @Test func aTakenPortIsAnErrorAtBind() async throws {
        let first = try SocketAcceptor(
            host: "127.0.0.1", port: 0, options: .init(writeBufferWaterMark: .init(low: 1_024, high: 2_048), readBufferBytes: 512),
            logger: Logger(label: "test"))
        #expect(throws: IOError.self) {
            _ = try SocketAcceptor(
                host: "127.0.0.1", port: first.localAddress.port!, options: .init(writeBufferWaterMark: .init(low: 1_024, high: 2_048), readBufferBytes: 512),
                logger: Logger(label: "test"))
        }
        await first.close()
        // Closed before it started: nothing listens on the port any more.
        let again = try SocketAcceptor(
            host: "127.0.0.1", port: first.localAddress.port!, options: .init(writeBufferWaterMark: .init(low: 1_024, high: 2_048), readBufferBytes: 512),
            logger: Logger(label: "test"))
        await again.close()
    }

    @Test func listensOnIPv6Too() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let acceptor = try SocketAcceptor(
            host: "::1", port: 0, options: .init(writeBufferWaterMark: .init(low: 1_024, high: 2_048), readBufferBytes: 512),
            logger: Logger(label: "test"))
        #expect(acceptor.localAddress.protocol == .inet6)
        acceptor.start(group: group) { channel, _ in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Echo()) }
        }
        let client = try await ClientBootstrap(group: group).connect(host: "::1", port: acceptor.localAddress.port!).get()
        #expect(client.isActive)
        try await client.close()
        await acceptor.close()
        try await group.shutdownGracefully()
    }
}
