import Foundation

/// base64url without padding (RFC 7515 §2).
func base64URL(_ bytes: some Sequence<UInt8>) -> String {
    Data(bytes).base64EncodedString()
        .replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

func base64URL(_ text: String) -> String {
    base64URL(Array(text.utf8))
}

/// The injected "now" of every verifier in these tests: far from the real clock, so a
/// test passes only if the verifier uses the injected clock.
let testNow = Date(timeIntervalSince1970: 2_000_000_000)
