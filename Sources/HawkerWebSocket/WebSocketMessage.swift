import NIOCore

/// A complete, validated data message: fragments joined, inflated, UTF-8 checked.
public struct WebSocketMessage: Sendable {
    public enum Kind: Sendable, Hashable {
        case text
        case binary
    }

    public var kind: Kind
    public var data: ByteBuffer

    public init(kind: Kind, data: ByteBuffer) {
        self.kind = kind
        self.data = data
    }
}

/// Sent down the pipeline (`triggerUserOutboundEvent`) to close the connection with a
/// close handshake.
public struct WebSocketCloseRequest: Sendable, Hashable {
    public var code: UInt16
    public var reason: String

    public init(code: UInt16, reason: String) {
        self.code = code
        self.reason = reason
    }
}
