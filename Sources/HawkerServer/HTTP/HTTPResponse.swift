import Foundation
import HawkerProtocol
import NIOCore
import NIOHTTP1
import Prometheus

/// A complete HTTP response; errors use the wire error codes:
/// `{"error": {"code": ..., "message": ...}}`.
struct HTTPResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: ByteBuffer
    /// API answers are never cached; static files say how long they may be.
    var cacheControl = "no-store"
    var headers: [(String, String)] = []

    /// A browser file, or 304 when the client's copy (`If-None-Match`) is current.
    static func file(_ file: StaticFiles.File, ifNoneMatch: String?) -> HTTPResponse {
        let notModified = ifNoneMatch == file.etag
        return HTTPResponse(
            status: notModified ? .notModified : .ok, contentType: file.contentType, body: notModified ? ByteBuffer() : file.body,
            cacheControl: file.cacheControl,
            headers: [
                ("ETag", file.etag), ("Content-Security-Policy", StaticFiles.contentSecurityPolicy),
                ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
            ]
        )
    }

    /// The Prometheus text exposition of every gateway metric.
    static func metrics(_ metrics: GatewayMetrics) -> HTTPResponse {
        var body = ByteBuffer()
        body.writeBytes(metrics.registry.emitToBuffer())
        return HTTPResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: body)
    }

    static func json(_ status: HTTPResponseStatus, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: ByteBuffer(string: text))
    }

    static func json(_ status: HTTPResponseStatus, _ body: ByteBuffer) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: body)
    }

    static func error(_ status: HTTPResponseStatus, _ code: ErrorCode, _ message: String) -> HTTPResponse {
        error(status, code: code.rawValue, message)
    }

    static func error(_ status: HTTPResponseStatus, code: String, _ message: String) -> HTTPResponse {
        json(status, #"{"error":{"code":"\#(code)","message":\#(jsonString(message))}}"#)
    }

    /// A JSON string literal for `text`.
    static func jsonString(_ text: String) -> String {
        let encoded = (try? JSONEncoder().encode(text)).flatMap { String(data: $0, encoding: .utf8) }
        return encoded ?? "\"\""
    }
}

extension HTTPResponse {
    /// Writes the whole response from an HTTP handler (`HTTPServerResponsePart`s); without
    /// keep-alive the connection closes once it is written. `headOnly` answers HEAD.
    func write(to context: ChannelHandlerContext, keepAlive: Bool, headOnly: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        headers.add(name: "Cache-Control", value: cacheControl)
        for (name, value) in self.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !headOnly { context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil) }
        let done = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
        if !keepAlive {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
