import Foundation
import HawkerHub
import HawkerProtocol
import NIOCore

func stream(_ raw: String) -> StreamID {
    StreamID(raw)!
}

func draft(_ kind: EventKind, _ data: [String: JSONValue]) -> EventDraft {
    try! EventDraft(kind: kind, data: data)
}

func announcement(_ text: String) -> EventDraft {
    draft(.announcement, ["text": .string(text)])
}

func price(_ product: String, _ amount: Int64) -> EventDraft {
    draft(.priceChanged, ["product": .string(product), "price": .int(amount), "currency": "EUR"])
}

func parseJSON(_ buffer: ByteBuffer) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView))
}

/// The JSON payload of a server text frame (header stripped).
func framePayload(_ frame: ByteBuffer) throws -> JSONValue {
    var frame = frame
    let second = frame.getInteger(at: frame.readerIndex + 1, as: UInt8.self)! & 0x7F
    frame.moveReaderIndex(forwardBy: second < 126 ? 2 : (second == 126 ? 4 : 10))
    return try parseJSON(frame)
}

/// The result of a future that has already completed on the current (embedded) loop.
func completedResult<T>(_ future: EventLoopFuture<T>) -> Result<T, any Error>? {
    var result: Result<T, any Error>?
    future.assumeIsolated().whenComplete { result = $0 }
    return result
}

/// Records what a hub delivers. Everything runs on `eventLoop`.
final class RecordingSubscriber: StreamSubscriber, BroadcastFlusher, @unchecked Sendable {
    let eventLoop: any EventLoop
    /// Sequenced events, in arrival order.
    private(set) var frames: [BroadcastFrame] = []
    /// Pushes (chat, presence, questions.top ...): seq 0.
    private(set) var pushes: [BroadcastFrame] = []
    private(set) var flushes = 0
    /// Frames received since the last flush.
    private(set) var unflushed = 0

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    var seqs: [UInt64] { frames.map(\.seq) }

    func receive(_ frame: BroadcastFrame, from stream: StreamID) -> (any BroadcastFlusher)? {
        eventLoop.preconditionInEventLoop()
        if frame.seq == 0 {
            pushes.append(frame)
        } else {
            frames.append(frame)
        }
        unflushed += 1
        return unflushed == 1 ? self : nil
    }

    func flushBroadcasts() {
        eventLoop.preconditionInEventLoop()
        flushes += 1
        unflushed = 0
    }
}

/// A catalog.set of products priced in EUR, merchant "m1", 10 in stock.
func catalog(_ products: [(id: String, price: Int64)]) -> EventDraft {
    draft(
        .catalogSet,
        [
            "products": .array(
                products.map {
                    ["id": .string($0.id), "title": .string("Product \($0.id)"), "merchant": "m1", "price": .int($0.price), "currency": "EUR", "stock": 10]
                })
        ])
}
