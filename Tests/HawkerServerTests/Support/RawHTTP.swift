import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Sends a hand-written HTTP/1.1 request over a plain TCP connection and reads one
/// response (head and Content-Length body). For requests an HTTP library would rewrite,
/// such as refused WebSocket upgrades.
enum RawHTTP {
    struct Response {
        var status: Int
        var body: String
        /// The status line and headers as sent.
        var head: String = ""

        /// A header's value (case-insensitive name), from the raw head.
        func header(_ name: String) -> String? {
            head.split(separator: "\r\n").dropFirst().first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
        }
    }

    enum Failure: Error {
        case malformed(String)
        case noResponse
    }

    /// With `tls`, the connection is TLS without certificate verification (tests use a
    /// self-signed certificate).
    static func exchange(port: Int, tls: Bool = false, _ request: String) async throws -> Response {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: String.self)
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        let context = tls ? try NIOSSLContext(configuration: configuration) : nil
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        try await channel.writeAndFlush(ByteBuffer(string: request.replacingOccurrences(of: "\n", with: "\r\n")))
        let text = try await promise.futureResult.get()
        try? await channel.close()
        let parts = text.components(separatedBy: "\r\n\r\n")
        let statusLine = parts.first?.split(separator: "\r\n").first ?? ""
        guard let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw Failure.malformed(text)
        }
        return Response(status: status, body: parts.dropFirst().joined(separator: "\r\n\r\n"), head: parts.first ?? "")
    }

    private final class ResponseCollector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private var received = ""
        private var promise: EventLoopPromise<String>?
        private var timeout: Scheduled<Void>?

        init(promise: EventLoopPromise<String>) {
            self.promise = promise
        }

        func handlerAdded(context: ChannelHandlerContext) {
            // Never hang a test on a server that does not answer.
            timeout = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(10)) { [self] in
                finish(.failure(Failure.noResponse))
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
            guard let headEnd = received.range(of: "\r\n\r\n") else { return }
            let head = received[..<headEnd.lowerBound].lowercased()
            let length =
                head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            if received.utf8.count - received[..<headEnd.upperBound].utf8.count >= length {
                finish(.success(received))
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            finish(.success(received))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            finish(.failure(error))
            context.close(promise: nil)
        }

        private func finish(_ result: Result<String, any Error>) {
            timeout?.cancel()
            promise?.completeWith(result)
            promise = nil
        }
    }
}
