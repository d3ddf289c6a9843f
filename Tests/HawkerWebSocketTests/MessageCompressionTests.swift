import HawkerWebSocket
import NIOCore
import Testing

/// MessageDeflater and MessageInflater together: what the server compresses, a
/// permessage-deflate peer inflates, and the other way round.
@Suite("MessageDeflater + MessageInflater")
struct MessageCompressionTests {

    private let allocator = ByteBufferAllocator()

    /// Deterministic, somewhat compressible text of `count` bytes.
    private func payload(_ count: Int) -> ByteBuffer {
        var state: UInt32 = 2_463_534_242
        var bytes = [UInt8]()
        bytes.reserveCapacity(count)
        let words = Array(#"{"type":"event","seq":, "kind":"price.changed", product sku-1042 EUR Sencha 100 g é € "#.utf8)
        while bytes.count < count {
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            bytes.append(words[Int(state % UInt32(words.count))])
        }
        return ByteBuffer(bytes: bytes)
    }

    @Test(arguments: [0, 1, 10, 1_000, 16_384, 100_000])
    func roundTrip(_ size: Int) throws {
        let deflater = MessageDeflater()
        let inflater = try MessageInflater(clientNoContextTakeover: true)
        let original = payload(size)
        let compressed = try deflater.compress(original, windowBits: 15, allocator: allocator)
        let inflated = try inflater.inflate(compressed, maxBytes: 200_000, allocator: allocator)
        #expect(inflated == original)
    }

    @Test(arguments: [9, 10, 12, 15])
    func roundTripWithSmallerWindows(_ windowBits: Int) throws {
        let deflater = MessageDeflater(level: 9)
        let inflater = try MessageInflater(clientNoContextTakeover: false)
        let original = payload(50_000)
        let compressed = try deflater.compress(original, windowBits: windowBits, allocator: allocator)
        #expect(try inflater.inflate(compressed, maxBytes: 50_000, allocator: allocator) == original)
    }

    @Test func oneDeflaterAndOneInflaterForManyMessages() throws {
        let deflater = MessageDeflater()
        for clientNoContextTakeover in [false, true] {
            let inflater = try MessageInflater(clientNoContextTakeover: clientNoContextTakeover)
            for size in [5_000, 0, 300, 70_000, 1] {
                let original = payload(size)
                let compressed = try deflater.compress(original, windowBits: 15, allocator: allocator)
                #expect(try inflater.inflate(compressed, maxBytes: 100_000, allocator: allocator) == original)
            }
        }
    }

    @Test(arguments: [0, 1, 1_000, 100_000])
    func compressedOutputDoesNotEndWithTheSyncMarker(_ size: Int) throws {
        let compressed = try MessageDeflater().compress(payload(size), windowBits: 15, allocator: allocator)
        let tail = Array(bytes(compressed).suffix(4))
        #expect(tail != [0x00, 0x00, 0xFF, 0xFF])
    }

    @Test func compressionShrinksRepetitiveText() throws {
        let original = ByteBuffer(string: String(repeating: #"{"kind":"stock.changed","level":3}"#, count: 100))
        let compressed = try MessageDeflater().compress(original, windowBits: 15, allocator: allocator)
        #expect(compressed.readableBytes < original.readableBytes / 10)
    }

    @Test func inflateOverTheLimit() throws {
        let original = ByteBuffer(repeating: UInt8(ascii: "a"), count: 100_000)
        let compressed = try MessageDeflater().compress(original, windowBits: 15, allocator: allocator)
        #expect(compressed.readableBytes < 1_000)  // a small frame ...
        let inflater = try MessageInflater(clientNoContextTakeover: true)
        #expect(throws: MessageInflater.Failure.tooLarge) {
            try inflater.inflate(compressed, maxBytes: 10_000, allocator: allocator)  // ... must not become 100 KB
        }
        #expect(throws: MessageInflater.Failure.tooLarge) {
            try inflater.inflate(compressed, maxBytes: 99_999, allocator: allocator)
        }
        #expect(try inflater.inflate(compressed, maxBytes: 100_000, allocator: allocator) == original)
    }

    @Test func garbageIsCorrupt() throws {
        let inflater = try MessageInflater(clientNoContextTakeover: true)
        // Block type 3 is reserved in DEFLATE.
        #expect(throws: MessageInflater.Failure.corrupt) {
            try inflater.inflate(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x12, 0x34]), maxBytes: 1_000, allocator: allocator)
        }
    }
}
