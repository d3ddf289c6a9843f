import HarnessSupport
import HawkerWebSocket
import NIOCore

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    resetTrapSignals()
    return 0
}

/// permessage-deflate negotiation and inflation.
///
/// Input: `<header values, one per line> 0x00 <limit byte> <compressed payload>`. The text
/// before the first 0x00 is split on '\n' into Sec-WebSocket-Extensions header values
/// for `PerMessageDeflateParameters.negotiate(offers:)`. Checked:
///  - negotiation never traps; an accepted window is 9...15;
///  - the answer (`responseHeaderValue`), offered back, negotiates the same parameters;
///  - offers split over several header values negotiate as the same offers in one value
///    (for ASCII text);
/// then the payload is inflated by `MessageInflater` (twice: a second message on the same
/// context) with a limit from the limit byte. Checked: never traps, never returns more
/// than the limit, and whatever it returns compresses (`MessageDeflater`, the window
/// negotiated) and inflates back to the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDeflateParameters(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let bytes = input.rest()
    let split = bytes.firstIndex(of: 0) ?? bytes.count
    let headerText = String(decoding: bytes[..<split], as: UTF8.self)
    let values = headerText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)

    let negotiated = PerMessageDeflateParameters.negotiate(offers: values)
    if let negotiated {
        require((9...15).contains(negotiated.serverMaxWindowBits), "negotiated window \(negotiated.serverMaxWindowBits)")
        let again = PerMessageDeflateParameters.negotiate(offers: [negotiated.responseHeaderValue])
        require(again == negotiated, "'\(negotiated.responseHeaderValue)' negotiates \(String(describing: again)), not \(negotiated)")
    }
    // Offers are split on the Character ",": a combining mark after a comma (non-ASCII,
    // which no real extension header holds) joins it into one grapheme, and the offers
    // no longer split there (the offer is then declined). So this holds for ASCII only.
    let joined = PerMessageDeflateParameters.negotiate(offers: [values.joined(separator: ",")])
    require(
        joined == negotiated || !headerText.utf8.allSatisfy({ $0 < 0x80 }), "offers in \(values.count) header values negotiate \(String(describing: negotiated)), joined \(String(describing: joined))")

    guard split < bytes.count else { return 0 }
    var rest = bytes[(split + 1)...]
    let limitByte = rest.popFirst() ?? 0
    // 0 ... 64 KiB: small limits make the overflow path likely.
    let maxBytes = Int(limitByte) * Int(limitByte) + Int(limitByte)
    let parameters = negotiated ?? PerMessageDeflateParameters(serverMaxWindowBits: limitByte & 1 == 0 ? 15 : 9, clientNoContextTakeover: limitByte & 2 != 0)
    let allocator = ByteBufferAllocator()
    let payload = ByteBuffer(bytes: rest)
    do {
        let inflater = try MessageInflater(clientNoContextTakeover: parameters.clientNoContextTakeover)
        for _ in 0..<2 {
            guard let inflated = try? inflater.inflate(payload, maxBytes: maxBytes, allocator: allocator) else { continue }
            require(inflated.readableBytes <= maxBytes, "inflated \(inflated.readableBytes) bytes past the limit \(maxBytes)")
            let deflated = try MessageDeflater().compress(inflated, windowBits: parameters.serverMaxWindowBits, allocator: allocator)
            let fresh = try MessageInflater(clientNoContextTakeover: true)
            let back = try fresh.inflate(deflated, maxBytes: max(maxBytes, 1), allocator: allocator)
            require(back == inflated, "deflate → inflate changed \(inflated.readableBytes) bytes into \(back.readableBytes)")
        }
    } catch {
        fatalError("zlib set-up or a round trip of our own output failed: \(error)")
    }
    return 0
}
