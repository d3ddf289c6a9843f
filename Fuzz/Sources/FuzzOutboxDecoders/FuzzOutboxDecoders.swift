import HarnessSupport
import HawkerCommerce
@_spi(Fuzzing) import HawkerOrders
import HawkerProtocol
@_spi(Fuzzing) import HawkerServer
import NIOCore

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    resetTrapSignals()
    return 0
}

/// What the gateway reads back from its outbox (SQLite text columns), and what it builds
/// from that for clients. The input is `[<stream column>\n]<JSON text column>`: without a
/// newline the stream is "s1".
///
///  - `OutboxCoding.decodeCheckout` (the `reservation` column, via `Reservation(json:)`,
///    with the checkout's trace context): decode → encode (`OutboxCoding.encodeCheckout`)
///    → decode gives the same reservation and trace context, whose entries are all
///    header-safe and bounded; `checkout.accepted`'s body built from it (OrderDesk) and each
///    merchant's part (`order.requested`'s items) hold only integers within ±(2^53 − 1)
///    and write as JSON that parses back;
///  - `OutboxCoding.decodeNoticeBody` (a notice's `body` column): decode → encode → decode
///    gives the same body, and the push a buyer's session is sent for it (OrderNotice's
///    message with the stored stream) is JSON whose type and stream are the notice's;
///  - `OrderNotice(json:)` (a notice another cluster node announced): what reads writes
///    back as the same notice;
///  - a buyer's request's `units` column, read against a checkout's lines: only units a
///    line holds, and what the buyer and the merchant are sent of it is JSON that parses
///    back.
/// Must never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOutboxDecoders(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let bytes = input.rest()
    var stream = "s1"
    var column = bytes[...]
    if let newline = bytes.firstIndex(of: UInt8(ascii: "\n")), newline <= 80 {
        stream = String(decoding: bytes[..<newline], as: UTF8.self)
        column = bytes[(newline + 1)...]
    }
    let text = String(decoding: column, as: UTF8.self)
    checkReservation(text, stream: stream)
    checkNotice(text, stream: stream)
    checkAnnouncedNotice(column)
    checkRequestUnits(text)
    return 0
}

private func checkReservation(_ text: String, stream: String) {
    guard let (reservation, trace) = try? OutboxCoding.decodeCheckout(text) else { return }
    require(trace.count <= OrderTracing.maxCarriedEntries, "a trace context of \(trace.count) entries")
    for (name, value) in trace { require(OrderTracing.isCarried(name, value), "trace entry \(name): \(value)") }
    let stored = OutboxCoding.encodeCheckout(reservation, trace: trace)
    let again: (reservation: Reservation, trace: [String: String])
    do {
        again = try OutboxCoding.decodeCheckout(stored)
    } catch {
        fatalError("a reservation the outbox wrote does not read back (\(error)): \(stored)")
    }
    require(again.reservation == reservation, "decode → encode → decode changed \(reservation) into \(again.reservation)")
    require(again.trace == trace, "decode → encode → decode changed the trace context \(trace) into \(again.trace)")
    requireSafeIntegers(reservation.json, "the stored reservation")

    // What the gateway sends from it: checkout.accepted (a replay reads the stored row).
    let streamID = StreamID(stream) ?? StreamID("s1")!
    for replayed in [false, true] {
        let body = JSONValue.object(GatewayFuzzing.acceptedBody(reservation, stream: streamID, replayed: replayed))
        requireSafeIntegers(body, "checkout.accepted's body")
        requireWriterRoundTrip(body, "checkout.accepted's body")
        if let totals = reservation.totals {
            for total in totals { require((0...JSONValue.maxSafeInteger).contains(total.amount), "total \(total.amount)") }
        }
    }
    // Each merchant's part, as the relay delivers it.
    let merchants = reservation.merchants
    require(merchants == Array(Set(reservation.lines.map(\.merchant))).sorted(), "merchants \(merchants)")
    for merchant in merchants {
        let items = JSONValue.array(reservation.lines.filter { $0.merchant == merchant }.map(\.orderJSON))
        requireSafeIntegers(items, "order.requested's items")
        requireWriterRoundTrip(items, "order.requested's items")
    }
}

private func checkNotice(_ text: String, stream: String) {
    let body = OutboxCoding.decodeNoticeBody(text)
    let stored = OutboxCoding.encode(.object(body))
    let again = OutboxCoding.decodeNoticeBody(stored)
    require(again == body, "decode → encode → decode changed a notice body: \(body) → \(again)")

    // A stored stream column that is no stream id is refused when read (OutboxCorruption):
    // only valid ids reach a notice.
    guard let streamID = StreamID(stream) else { return }
    let notice = OrderNotice(id: 1, buyer: "b1", checkoutID: "co1", stream: streamID, type: .orderStatus, body: body, createdAt: 1_732_660_000_000)
    let message = GatewayFuzzing.noticeMessage(notice)
    let encoded = message.encode()
    guard let sent = (try? JSONParser.parse(encoded, maxDepth: 1_000))?.objectValue else {
        fatalError("the push for a stored notice is not a JSON object: \(String(buffer: encoded))")
    }
    require(sent["type"] == .string("order.status"), "push type \(String(describing: sent["type"]))")
    require(sent["stream"] == .string(streamID.rawValue), "push stream \(String(describing: sent["stream"])), expected \(streamID)")
    for (key, value) in body where key != "type" && key != "stream" {
        require(sent[key] == value, "push field \(key) changed: \(value) → \(String(describing: sent[key]))")
    }
}

private func checkAnnouncedNotice(_ bytes: ArraySlice<UInt8>) {
    guard let value = try? JSONParser.parse(ByteBuffer(bytes: bytes)), let notice = OrderNotice(json: value) else { return }
    require(OrderNotice(json: notice.json) == notice, "an announced notice does not read back: \(notice)")
    requireWriterRoundTrip(notice.json, "an announced notice")
}

private func checkRequestUnits(_ text: String) {
    let lines: [Reservation.Line] = [
        .init(product: "tee", variant: "m", quantity: 2, unitPrice: 1_000, currency: "EUR", merchant: "m1", sale: nil),
        .init(product: "cap", variant: nil, quantity: 1_000, unitPrice: 500, currency: "EUR", merchant: "m1", sale: nil),
    ]
    guard
        let request = OutboxCoding.request(
            checkoutID: "co1", merchant: "m1", id: "q1", kind: "return", units: text, reason: nil, status: "declined", answer: "no", createdAt: 1,
            updatedAt: 2, lines: lines)
    else { fatalError("a request with a known kind and status did not read") }
    for (index, quantity) in request.units {
        require(lines.indices.contains(index) && (1...lines[index].quantity).contains(quantity), "request units \(request.units)")
    }
    require(request.items.count == request.units.count, "items \(request.items) for units \(request.units)")
    requireSafeIntegers(request.json, "a request in the history")
    requireWriterRoundTrip(request.json, "a request in the history")
}
