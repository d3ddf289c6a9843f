import Crypto
import Foundation
import HawkerProtocol
import NIOCore

/// The tokens most gateways see, HS256 with the shared secret, checked and read on the
/// calling thread (an event loop): one HMAC and `JSONParser`, instead of jwt-kit's actor
/// hop and JSONDecoder (~10 µs of a handshake's ~245 in the connect storm).
///
/// It handles only the plain form, header `{"alg":"HS256"}` with an optional
/// `"typ":"JWT"`, and claims of the types `HawkerClaims` declares. Anything else, a bad
/// signature included, is left to jwt-kit, so that every refusal reads as it always has.
enum HS256Token {
    /// The claims, when the token is of the plain form and its signature is good; nil when
    /// jwt-kit must decide.
    static func verify(_ token: String, key: SymmetricKey) -> TokenClaims? {
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3,
            let header = decode(parts[0]), isPlainHeader(header),
            let signature = base64URL(parts[2])
        else { return nil }
        // Signed input: the first two parts as sent, with the dot between them. Checked
        // before the payload is read, so a forged token costs no parse.
        let signedCount = parts[0].count + 1 + parts[1].count
        let signed = token.utf8.prefix(signedCount)
        let valid =
            signed.withContiguousStorageIfAvailable { HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: UnsafeRawBufferPointer($0), using: key) }
            ?? HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Array(signed), using: key)
        guard valid, case .object(let fields)? = decode(parts[1]) else { return nil }
        return claims(fields)
    }

    private static func isPlainHeader(_ header: JSONValue) -> Bool {
        guard case .object(let fields) = header, fields["alg"] == .string("HS256") else { return false }
        for (key, value) in fields where key != "alg" {
            guard key == "typ", value == .string("JWT") else { return false }
        }
        return true
    }

    /// The claims when each has the type `HawkerClaims` decodes (null is absent for the
    /// optional ones); nil otherwise.
    private static func claims(_ fields: [String: JSONValue]) -> TokenClaims? {
        guard case .string(let subject) = fields["sub"], case .string(let role) = fields["role"],
            case .some(.some(let expiresAt)) = number(fields["exp"]),
            let streams = strings(fields["streams"]), let merchant = string(fields["merchant"]),
            let name = string(fields["name"]), let issuer = string(fields["iss"]),
            let notBefore = number(fields["nbf"], optional: true), number(fields["iat"], optional: true) != nil
        else { return nil }
        return TokenClaims(
            subject: subject, role: role, streams: streams, merchant: merchant, name: name,
            expiresAt: expiresAt, notBefore: notBefore, issuer: issuer
        )
    }

    /// `.some(nil)` for an absent or null optional claim, nil for a claim of the wrong type.
    private static func string(_ value: JSONValue?) -> String?? {
        switch value {
        case nil, .null?: return .some(nil)
        case .string(let string)?: return .some(string)
        default: return nil
        }
    }

    private static func strings(_ value: JSONValue?) -> [String]?? {
        switch value {
        case nil, .null?: return .some(nil)
        case .array(let items)?:
            var strings: [String] = []
            strings.reserveCapacity(items.count)
            for item in items {
                guard case .string(let string) = item else { return nil }
                strings.append(string)
            }
            return .some(strings)
        default: return nil
        }
    }

    private static func number(_ value: JSONValue?, optional: Bool = false) -> Double?? {
        switch value {
        case .int(let int)?: return .some(Double(int))
        case .double(let double)?: return .some(double)
        case nil, .null?: return optional ? .some(nil) : nil
        default: return nil
        }
    }

    private static func decode(_ part: Substring.UTF8View) -> JSONValue? {
        guard let bytes = base64URL(part), !hasExponent(bytes) else { return nil }
        return try? JSONParser.parse(ByteBuffer(bytes: bytes), maxDepth: 8)
    }

    /// Whether a number outside the strings is written with an exponent. Those are left to
    /// jwt-kit: Foundation refuses some that `JSONParser` reads (`0.5e-99999999` underflows
    /// to 0 here and is malformed there; found by FuzzTokenClaims), and issuers write
    /// times as plain integers.
    private static func hasExponent(_ bytes: [UInt8]) -> Bool {
        var previous: UInt8 = 0
        let exponentFree = JSONDepthScanner.forEachByteOutsideStrings(bytes) { byte in
            let isExponent = (byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")) && (previous == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(previous))
            previous = byte
            return !isExponent
        }
        return !exponentFree
    }

    /// Unpadded base64url (RFC 7515 §2), through Foundation's decoder.
    private static func base64URL(_ part: Substring.UTF8View) -> [UInt8]? {
        var standard: [UInt8] = []
        standard.reserveCapacity(part.count + 3)
        for byte in part {
            switch byte {
            case UInt8(ascii: "-"): standard.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): standard.append(UInt8(ascii: "/"))
            case UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="): return nil
            default: standard.append(byte)
            }
        }
        while standard.count % 4 != 0 { standard.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(standard)).map { [UInt8]($0) }
    }
}
