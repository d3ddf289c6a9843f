import Foundation
import HawkerProtocol
import NIOCore
import NIOHTTP1

/// A complete HTTP response; errors use the wire error codes:
/// `{"error": {"code": ..., "message": ...}}`.
struct HTTPResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: ByteBuffer

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
