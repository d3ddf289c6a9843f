import CompressNIO
import NIOCore

/// Compresses whole messages for permessage-deflate without context takeover.
///
/// Because no context survives a message, one deflater per event loop (and window
/// size) serves every connection on that loop: per-connection zlib state (hundreds of
/// KB) is never allocated. Not thread-safe: keep one per event loop.
public final class MessageDeflater {
    private var compressors: [Int: ZlibCompressor] = [:]
    private let level: Int32

    /// `level` is zlib's 1 (fastest) ... 9 (smallest).
    public init(level: Int = 1) {
        self.level = Int32(max(1, min(9, level)))
    }

    /// The compressed payload, without the trailing 00 00 FF FF that RFC 7692 strips.
    public func compress(_ payload: ByteBuffer, windowBits: Int, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        let compressor = try self.compressor(windowBits: windowBits)
        try compressor.reset()
        var input = payload
        var output = allocator.buffer(capacity: compressor.maxSize(from: input))
        try compressor.deflate(from: &input, to: &output, flush: .sync)
        if output.readableBytes >= 4, output.getInteger(at: output.writerIndex - 4, as: UInt32.self) == 0x0000_FFFF {
            output.moveWriterIndex(to: output.writerIndex - 4)
        }
        return output
    }

    private func compressor(windowBits: Int) throws -> ZlibCompressor {
        if let existing = compressors[windowBits] { return existing }
        let configuration = ZlibConfiguration(windowSize: Int32(windowBits), compressionLevel: level, memoryLevel: 8, strategy: .default)
        let compressor = try ZlibCompressor(algorithm: .deflate, configuration: configuration)
        compressors[windowBits] = compressor
        return compressor
    }
}

@available(*, unavailable)
extension MessageDeflater: Sendable {}
