import NIOCore

/// A received close frame's payload, validated per RFC 6455 §5.5.1 and §7.4.
public struct WebSocketClosePayload: Sendable, Hashable {
    public var code: UInt16?
    public var reason: String

    public enum Failure: Error, Sendable, Hashable {
        /// A one-byte payload or a code that may not be sent on the wire: 1002.
        case protocolError
        /// The reason is not UTF-8: 1007.
        case invalidReason
    }

    public init(parsing payload: ByteBuffer) throws(Failure) {
        var payload = payload
        guard payload.readableBytes > 0 else {
            self.code = nil
            self.reason = ""
            return
        }
        guard let code = payload.readInteger(as: UInt16.self) else { throw .protocolError }
        guard Self.isValidReceived(code) else { throw .protocolError }
        guard let reason = payload.readValidatedString(length: payload.readableBytes) else { throw .invalidReason }
        self.code = code
        self.reason = reason
    }

    /// Codes a peer may put in a close frame: the defined ones, and the registered
    /// (3000–3999) and private (4000–4999) ranges. 1005, 1006 and 1015 are never sent.
    public static func isValidReceived(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014: return true
        case 3000...4999: return true
        default: return false
        }
    }
}

extension ByteBuffer {
    /// Reads a string only when the bytes are valid UTF-8.
    fileprivate mutating func readValidatedString(length: Int) -> String? {
        guard let bytes = readBytes(length: length) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}
