import Crypto
import Foundation

/// What the gateway gives a viewer who arrived through a code's link (`referral`): the
/// code and when it was presented, signed, so that a checkout later can prove both and
/// the referral window is the server's to enforce. Stateless, so any node holding the
/// same key verifies it: `<code>.<issued at, ms>.<16 bytes of HMAC-SHA256, base64url>`.
public struct ReferralTicket: Sendable {
    private let key: SymmetricKey

    /// Tickets dated further ahead than this are not ours (clocks of a cluster differ a little).
    static let maxClockSkewMilliseconds: Int64 = 60_000
    public static let maxLength = 96

    public init(secret: Data) {
        // A key of its own, derived: a ticket's tag is never a valid token signature.
        key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Data("hawker referral tickets v1".utf8), using: SymmetricKey(data: secret)))
    }

    public func issue(code: String, at issuedAt: Int64) -> String {
        let signed = "\(code).\(issuedAt)"
        return signed + "." + Self.base64URL(tag(signed))
    }

    /// The code and issue time of a ticket this key signed; nil for anything else.
    public func verify(_ ticket: String, now: Int64) -> (code: String, issuedAt: Int64)? {
        guard ticket.utf8.count <= Self.maxLength else { return nil }
        let parts = ticket.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let issuedAt = Int64(parts[1]), issuedAt >= 0, issuedAt <= now + Self.maxClockSkewMilliseconds else { return nil }
        let signed = "\(parts[0]).\(parts[1])"
        let expected = Array(Self.base64URL(tag(signed)).utf8)
        let given = Array(parts[2].utf8)
        // Constant time: every byte compared whatever the first difference.
        guard given.count == expected.count else { return nil }
        var difference: UInt8 = 0
        for (a, b) in zip(given, expected) { difference |= a ^ b }
        return difference == 0 ? (String(parts[0]), issuedAt) : nil
    }

    private func tag(_ signed: String) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data(signed.utf8), using: key).prefix(16))
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
