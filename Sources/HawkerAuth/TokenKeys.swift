import Crypto
import JWTKit

/// The keys tokens are checked against: jwt-kit's collection (HS256 and any JWKS keys),
/// and the HS256 secret again for `HS256Token`, which checks the common case on the
/// calling thread.
public struct TokenKeys: Sendable {
    let collection: JWTKeyCollection
    let hs256: SymmetricKey?
}

extension TokenKeys {
    /// The same keys with every token left to jwt-kit: what the fast path is compared
    /// with (tests, the token fuzzer).
    public func withoutFastPath() -> TokenKeys {
        TokenKeys(collection: collection, hs256: nil)
    }
}
