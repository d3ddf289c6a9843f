import NIOCore
import NIOWebSocket

/// Turns client frames into messages and control events, enforcing RFC 6455 where
/// `WebSocketFrameParser` does not: masking, reserved bits and opcodes, fragmentation
/// order, message size and (for uncompressed text) UTF-8 at the first bad byte.
///
/// A value type with no I/O, so every rule is testable frame by frame.
public struct WebSocketMessageAssembler: Sendable {
    public enum Result: Sendable {
        /// A fragment was absorbed; nothing to do yet.
        case needMoreFrames
        /// A complete data message. `compressed` messages still need inflating (and,
        /// for text, UTF-8 validation after that).
        case message(WebSocketMessage.Kind, ByteBuffer, compressed: Bool)
        case ping(ByteBuffer)
        case pong(ByteBuffer)
        case close(WebSocketClosePayload)
        /// Fail the connection with this close code.
        case fail(code: UInt16, reason: String)
    }

    private struct Partial: Sendable {
        var kind: WebSocketMessage.Kind
        var compressed: Bool
        var buffer: ByteBuffer
        var utf8: UTF8Validator
    }

    public var maxMessageBytes: Int
    public var compressionNegotiated: Bool
    private var partial: Partial?

    public init(maxMessageBytes: Int, compressionNegotiated: Bool) {
        self.maxMessageBytes = maxMessageBytes
        self.compressionNegotiated = compressionNegotiated
    }

    public mutating func receive(_ frame: WebSocketClientFrame) -> Result {
        guard frame.masked else { return .fail(code: 1002, reason: "client frames must be masked") }
        guard !frame.rsv2, !frame.rsv3 else { return .fail(code: 1002, reason: "reserved bits set") }
        switch frame.opcode {
        case .ping:
            guard !frame.rsv1 else { return .fail(code: 1002, reason: "reserved bits set") }
            return .ping(frame.data)
        case .pong:
            guard !frame.rsv1 else { return .fail(code: 1002, reason: "reserved bits set") }
            return .pong(frame.data)
        case .connectionClose:
            guard !frame.rsv1 else { return .fail(code: 1002, reason: "reserved bits set") }
            do {
                return .close(try WebSocketClosePayload(parsing: frame.data))
            } catch .invalidReason {
                return .fail(code: 1007, reason: "close reason is not UTF-8")
            } catch {
                return .fail(code: 1002, reason: "invalid close frame")
            }
        case .text, .binary:
            guard partial == nil else { return .fail(code: 1002, reason: "new message before the previous one ended") }
            if frame.rsv1 && !compressionNegotiated {
                return .fail(code: 1002, reason: "reserved bits set")
            }
            let kind: WebSocketMessage.Kind = frame.opcode == .text ? .text : .binary
            partial = Partial(kind: kind, compressed: frame.rsv1, buffer: ByteBuffer(), utf8: UTF8Validator())
            return append(frame)
        case .continuation:
            guard partial != nil else { return .fail(code: 1002, reason: "continuation without a message") }
            guard !frame.rsv1 else { return .fail(code: 1002, reason: "reserved bits set") }
            return append(frame)
        default:
            return .fail(code: 1002, reason: "reserved opcode")
        }
    }

    private mutating func append(_ frame: WebSocketClientFrame) -> Result {
        guard var current = partial else { return .fail(code: 1002, reason: "continuation without a message") }
        partial = nil  // keep the buffer uniquely referenced while we append
        guard current.buffer.readableBytes + frame.data.readableBytes <= maxMessageBytes else {
            return .fail(code: 1009, reason: "message larger than \(maxMessageBytes) bytes")
        }
        let data = frame.data
        if current.kind == .text && !current.compressed {
            let valid = data.withUnsafeReadableBytes { current.utf8.feed($0) }
            guard valid else { return .fail(code: 1007, reason: "text is not valid UTF-8") }
        }
        if frame.fin {
            if current.kind == .text && !current.compressed && !current.utf8.isComplete {
                return .fail(code: 1007, reason: "text is not valid UTF-8")
            }
            if current.buffer.readableBytes == 0 {
                // Unfragmented: hand the frame's own buffer on without a copy.
                return .message(current.kind, data, compressed: current.compressed)
            }
            current.buffer.writeImmutableBuffer(data)
            return .message(current.kind, current.buffer, compressed: current.compressed)
        }
        current.buffer.writeImmutableBuffer(data)
        partial = current
        return .needMoreFrames
    }
}
