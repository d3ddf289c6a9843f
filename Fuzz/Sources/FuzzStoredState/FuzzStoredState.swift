import HarnessSupport
import HawkerCommerce
import HawkerProtocol
import NIOCore

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    resetTrapSignals()
    return 0
}

/// What a restarting gateway reads back from its state store (a damaged file included).
/// The first byte picks the column:
///
///  - even: a saved room (`StreamRoom(restoring:)`): when it reads, saving it again and
///    reading that gives the same state and insights, which are JSON that parses, and
///    the room takes a chat message, a question, a checkout, a tick and a replayed event
///    without trapping;
///  - odd: a stored event payload (`StreamEvent(storedPayload:)`): when it reads, its seq
///    is positive, the event the server writes from it reads back the same, and
///    replaying it into a room with a catalog and a sale does not trap.
/// Must never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStoredState(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    guard count > 0 else { return 0 }
    let selector = input.byte()
    let bytes = input.rest()
    if selector % 2 == 0 {
        checkRoom(bytes)
    } else {
        checkEvent(bytes)
    }
    return 0
}

private let now: Int64 = 1_800_000_000_000
private let viewer = Author(user: "v1", name: nil, role: "viewer", isStaff: false)

private func checkRoom(_ bytes: [UInt8]) {
    guard var room = StreamRoom(restoring: bytes, configuration: RoomConfiguration(), seed: 1) else { return }
    let saved = room.save()
    guard let again = StreamRoom(restoring: saved, configuration: RoomConfiguration(), seed: 1) else {
        fatalError("a room the gateway saved does not read back: \(String(decoding: saved, as: UTF8.self))")
    }
    require(again.stateJSON(now: now) == room.stateJSON(now: now), "save → restore changed the state")
    require(again.insightsJSON(now: now) == room.insightsJSON(now: now), "save → restore changed the insights")
    requireWriterRoundTrip(room.stateJSON(now: now), "the restored state")
    requireWriterRoundTrip(room.insightsJSON(now: now), "the restored insights")
    _ = room.perform(.chat(text: "hello there"), by: viewer, now: now)
    _ = room.perform(.ask(text: "does it come in blue?"), by: viewer, now: now)
    for product in room.commerce.catalog.all.prefix(3) {
        let request = CheckoutRequest(
            lines: [.init(product: product.id, variant: nil, quantity: 1, priceSeen: product.price)], shipTo: "DE", attribution: .init(),
            idempotencyKey: "k-\(product.id)"
        )
        _ = room.checkout(request, buyer: "b1", checkoutID: "c-\(product.id)", now: now)
    }
    _ = room.tick(now: now + 1_000)
    room.replay(EventDraft(restoring: .announcement, data: ["text": "hi"]), at: now)
}

private func checkEvent(_ bytes: [UInt8]) {
    guard let event = StreamEvent(storedPayload: ByteBuffer(bytes: bytes)) else { return }
    require(event.seq > 0, "seq \(event.seq)")
    let written = ServerMessage.event(event).encode()
    guard let again = StreamEvent(storedPayload: written) else {
        fatalError("an event the server wrote does not read back: \(String(buffer: written))")
    }
    require(again == event, "write → read changed the event: \(event) → \(again)")
    var room = StreamRoom()
    room.replay(EventDraft(restoring: .catalogSet, data: ["products": [["id": "a", "title": "A", "merchant": "m1", "price": 1_000, "currency": "EUR", "stock": 5]]]), at: now)
    room.replay(EventDraft(restoring: .saleStarted, data: ["sale": "s", "items": [["product": "a", "price": 500]], "duration_ms": 60_000]), at: now)
    room.replay(EventDraft(restoring: event.kind, data: event.data), at: event.timestamp)
    requireWriterRoundTrip(room.stateJSON(now: now), "the state after a replayed event")
    let request = CheckoutRequest(lines: [.init(product: "a", variant: nil, quantity: 2, priceSeen: 500)], shipTo: "DE", attribution: .init(), idempotencyKey: "k")
    _ = room.checkout(request, buyer: "b1", checkoutID: "c1", now: now)
    _ = room.tick(now: now + 120_000)
}
