import CompressNIO
import NIOCore

/// Inflates a connection's compressed messages, refusing output beyond a size limit
/// (a small compressed frame must not become a memory bomb).
public final class MessageInflater {
    public enum Failure: Error, Sendable, Hashable {
        case tooLarge
        case corrupt
    }

    private let decompressor: ZlibDecompressor
    private let resetEachMessage: Bool

    public init(clientNoContextTakeover: Bool) throws {
        // Window 15 inflates whatever window the client chose.
        self.decompressor = try ZlibDecompressor(algorithm: .deflate, windowSize: 15)
        self.resetEachMessage = clientNoContextTakeover
    }

    public func inflate(_ payload: ByteBuffer, maxBytes: Int, allocator: ByteBufferAllocator) throws(Failure) -> ByteBuffer {
        var input = payload
        input.writeBytes([0x00, 0x00, 0xFF, 0xFF])
        var output = allocator.buffer(capacity: min(maxBytes + 1, max(256, payload.readableBytes * 4)))
        defer {
            if resetEachMessage { try? decompressor.reset() }
        }
        while true {
            do {
                try decompressor.inflate(from: &input, to: &output)
                // A final deflate block ends the zlib stream before our sync marker:
                // start afresh so the next message inflates.
                if input.readableBytes > 0 { try? decompressor.reset() }
                break
            } catch let error as CompressNIOError where error == .bufferOverflow {
                // Output full: grow geometrically, up to just past the limit.
                guard output.readableBytes <= maxBytes else { throw .tooLarge }
                output.reserveCapacity(minimumWritableBytes: min(maxBytes + 1, max(4096, output.readableBytes)))
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                break  // all input consumed
            } catch {
                throw .corrupt
            }
        }
        guard output.readableBytes <= maxBytes else { throw .tooLarge }
        return output
    }
}

@available(*, unavailable)
extension MessageInflater: Sendable {}
