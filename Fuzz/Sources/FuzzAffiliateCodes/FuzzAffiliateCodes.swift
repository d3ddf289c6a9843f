import Foundation
import HarnessSupport
import HawkerCommerce
import HawkerOrders
import HawkerProtocol
import NIOCore

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    resetTrapSignals()
    return 0
}

private let tickets = ReferralTicket(secret: Data("fuzzing referral secret".utf8))
private let now: Int64 = 1_800_000_000_000

/// What the gateway reads of influencer codes from outside: the first byte picks the input.
///
///  - 0: a `PUT /v1/affiliate-codes/{code}` body → `AffiliateCodeRegistration.parse`: what
///    it accepts is within its documented bounds (rate 0–10,000, 1–100 streams and
///    merchants of valid ids, a window that ends after it starts);
///  - 1: a stored code document → `AffiliateCode(stored:)`: what reads writes back the same,
///    with safe integers;
///  - 2: a referral ticket as a checkout sends it → `ReferralTicket.verify`: only what this
///    key issued verifies, and an issued ticket for any code name verifies to that name and
///    time; `AffiliateCode.canonical` of the same text is a code or nil, never a trap.
/// Must never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAffiliateCodes(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let selector = input.byte()
    let bytes = input.rest()
    switch selector % 3 {
    case 0: checkRegistration(bytes)
    case 1: checkStored(bytes)
    default: checkTicket(bytes)
    }
    return 0
}

private func checkRegistration(_ bytes: [UInt8]) {
    guard let fields = (try? JSONParser.parse(ByteBuffer(bytes: bytes), maxDepth: 8))?.objectValue,
        let registration = try? AffiliateCodeRegistration.parse(fields)
    else { return }
    require((0...AttributionCredit.maxBasisPoints).contains(registration.commissionBasisPoints), "rate \(registration.commissionBasisPoints)")
    require((1...128).contains(registration.owner.unicodeScalars.count), "owner \(registration.owner)")
    for scope in [registration.streams, registration.merchants] {
        guard let scope else { continue }
        require((1...AffiliateCode.maxScope).contains(scope.count), "a scope of \(scope.count)")
    }
    require(registration.streams?.allSatisfy { StreamID($0) != nil } ?? true, "streams \(String(describing: registration.streams))")
    require(registration.merchants?.allSatisfy(Identifier.isValid) ?? true, "merchants \(String(describing: registration.merchants))")
    if let from = registration.validFrom, let until = registration.validUntil { require(from < until, "window \(from)..<\(until)") }
    for time in [registration.validFrom, registration.validUntil] {
        if let time { require((0...JSONValue.maxSafeInteger).contains(time), "time \(time)") }
    }
}

private func checkStored(_ bytes: [UInt8]) {
    guard let value = try? JSONParser.parse(ByteBuffer(bytes: bytes), maxDepth: 16), let code = AffiliateCode(stored: value) else { return }
    require(AffiliateCode.canonical(code.code) == code.code, "stored code \(code.code) is not canonical")
    let again = AffiliateCode(stored: code.json)
    require(again == code, "decode → encode → decode changed \(code) into \(String(describing: again))")
    requireWriterRoundTrip(code.json, "a code's document")
    // Whatever a store holds, asking it for a credit never traps and stays in bounds.
    let credit = code.credit(.code)
    require((0...AttributionCredit.maxBasisPoints).contains(credit.commissionBasisPoints), "rate \(credit.commissionBasisPoints)")
    for amount in [0, 1, 9_999, JSONValue.maxSafeInteger] {
        let commission = credit.commission(on: amount)
        require((0...amount).contains(commission), "commission \(commission) on \(amount)")
    }
    _ = code.isActive(at: now)
}

private func checkTicket(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    if let (code, issuedAt) = tickets.verify(text, now: now) {
        // Forging needs the key: only a ticket this key issued can get here.
        require(tickets.issue(code: code, at: issuedAt) == text, "\(text) verified without being issued")
    }
    if let canonical = AffiliateCode.canonical(text) {
        require(AffiliateCode.canonical(canonical) == canonical, "canonical form of \(text) is not stable")
        let issued = tickets.issue(code: canonical, at: now)
        require(issued.utf8.count <= ReferralTicket.maxLength, "a ticket of \(issued.utf8.count) bytes")
        guard let verified = tickets.verify(issued, now: now) else { fatalError("an issued ticket does not verify: \(issued)") }
        require(verified.code == canonical && verified.issuedAt == now, "ticket \(issued) verified as \(verified)")
    }
}
