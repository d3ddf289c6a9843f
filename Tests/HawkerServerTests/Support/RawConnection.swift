import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// A TCP (or TLS) connection that sends what it is told, keeps what it receives and
/// reports when the server closes it: for clients that misbehave on purpose (silent
/// sockets, slowloris, half a handshake).
final class RawConnection: Sendable {
    let channel: any Channel
    private let inbox: NIOLockedValueBox<String>

    private init(channel: any Channel, inbox: NIOLockedValueBox<String>) {
        self.channel = channel
        self.inbox = inbox
    }

    /// Everything received so far, as text.
    var received: String { inbox.withLockedValue { $0 } }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let inbox: NIOLockedValueBox<String>
        init(inbox: NIOLockedValueBox<String>) { self.inbox = inbox }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let text = String(buffer: unwrapInboundIn(data))
            inbox.withLockedValue { $0 += text }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    /// `tls`: a TLS client without certificate checks; `maximumTLSVersion` to offer an old
    /// version only. `startTLS: false` opens plain TCP even to a TLS port (a silent socket).
    static func open(port: Int, tls: Bool = false, maximumTLSVersion: TLSVersion? = nil, cipherSuites: String? = nil) async throws -> RawConnection {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        if let maximumTLSVersion {
            configuration.minimumTLSVersion = .tlsv1
            configuration.maximumTLSVersion = maximumTLSVersion
        }
        if let cipherSuites { configuration.cipherSuites = cipherSuites }
        let context = tls ? try NIOSSLContext(configuration: configuration) : nil
        let inbox = NIOLockedValueBox("")
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHandler(Collector(inbox: inbox))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return RawConnection(channel: channel, inbox: inbox)
    }

    /// Waits until what was received contains `text`; false after `seconds` or a close.
    func waitFor(_ text: String, within seconds: Double = 10) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1_000))
        while ContinuousClock.now < deadline {
            if received.contains(text) { return true }
            if !channel.isActive { return received.contains(text) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    func send(bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Whether the server closed the connection within `seconds` (false: still open).
    func closedByServer(within seconds: Int64) async -> Bool {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: Bool.self)
        let answered = NIOLockedValueBox(false)
        let answer = { @Sendable (closed: Bool) in
            if answered.withLockedValue({ done in
                defer { done = true }
                return !done
            }) {
                promise.succeed(closed)
            }
        }
        let timer = loop.scheduleTask(in: .seconds(seconds)) { answer(false) }
        channel.closeFuture.whenComplete { _ in
            timer.cancel()
            answer(true)
        }
        return (try? await promise.futureResult.get()) ?? false
    }

    func close() async {
        try? await channel.close()
    }
}
