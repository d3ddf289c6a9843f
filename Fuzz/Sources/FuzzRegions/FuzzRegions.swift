import HarnessSupport
import HawkerCommerce
import HawkerProtocol
import NIOCore

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    resetTrapSignals()
    return 0
}

/// What the gateway reads of places and prices from outside: the first byte picks the input.
///
///  - 0: a region as a catalog or a merchant's zone writes it → `RegionRule`: what parses
///    writes back to text that parses to the same rule, and matching any destination never
///    traps;
///  - 1: a buyer's `ship_to` → `Destination(json:)`: what reads writes back the same, and
///    its short `region` reads back to the same country and subdivision;
///  - 2: a merchant's `terms` → `MerchantTerms.parse`: what parses writes back the same, and
///    every zone prices any subtotal within 2^53 − 1 with tax ≥ 0 that adds up.
/// Must never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRegions(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let selector = input.byte()
    let bytes = input.rest()
    switch selector % 3 {
    case 0: checkRule(String(decoding: bytes, as: UTF8.self))
    case 1: checkDestination(bytes)
    default: checkTerms(bytes)
    }
    return 0
}

private let destinations: [Destination] = [
    Destination(country: "DE", subdivision: "BE", postcode: "10115")!, Destination(country: "GB", postcode: "SW1A1AA")!, Destination(country: "US")!,
]

private func checkRule(_ text: String) {
    let restored = RegionRule(restoring: text)
    for destination in destinations { _ = restored.matches(destination) }
    guard let rule = RegionRule(text) else { return }
    require(rule.text.utf8.count <= RegionRule.maxLength, "rule \(rule.text) is too long")
    require(RegionRule(rule.text) == rule, "\(text) → \(rule.text) reads back as \(String(describing: RegionRule(rule.text)))")
}

private func checkDestination(_ bytes: [UInt8]) {
    guard let value = try? JSONParser.parse(ByteBuffer(bytes: bytes), maxDepth: 8), let destination = Destination(json: value) else { return }
    require(Destination(json: destination.json) == destination, "\(destination) does not read back")
    let short = Destination(region: destination.region)
    require(short?.country == destination.country && short?.subdivision == destination.subdivision, "region \(destination.region)")
    requireWriterRoundTrip(destination.json, "a destination")
}

private func checkTerms(_ bytes: [UInt8]) {
    guard let value = try? JSONParser.parse(ByteBuffer(bytes: bytes), maxDepth: 8), let terms = try? MerchantTerms.parse(value) else { return }
    require((try? MerchantTerms.parse(terms.json)) == terms, "terms do not read back: \(terms)")
    requireSafeIntegers(terms.json, "terms")
    for zone in terms.zones {
        for subtotal in [0, 1, 4_999, 5_000, JSONValue.maxSafeInteger / 3, JSONValue.maxSafeInteger] {
            guard let charge = Charge.pricing(merchant: "m", currency: terms.currency, subtotal: subtotal, zone: zone, pricesIncludeTax: terms.pricesIncludeTax)
            else { continue }
            require(charge.tax >= 0 && charge.total <= JSONValue.maxSafeInteger, "\(charge)")
            let base = charge.subtotal + charge.shipping
            require(charge.total == (terms.pricesIncludeTax ? base : base + charge.tax), "\(charge) does not add up")
            require(charge.tax <= base, "tax \(charge.tax) above \(base)")
        }
    }
}
