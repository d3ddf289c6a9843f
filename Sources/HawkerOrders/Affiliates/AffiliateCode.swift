import HawkerCommerce
import HawkerProtocol

/// An influencer's registered code: who it pays (`owner`, a token `sub`), the commission
/// rate, where it applies (streams, merchants), and when. Registered over HTTP by an
/// admin or by a merchant for its own products; only registered, active codes are ever
/// credited (`AffiliateDirectory`).
public struct AffiliateCode: Sendable, Hashable {
    /// Streams or merchants one code names at most (every node keeps every code in memory).
    public static let maxScope = 20

    /// Canonical form: upper case.
    public var code: String
    public var owner: String
    /// 0 ... 10,000 (100 %).
    public var commissionBasisPoints: Int64
    /// Streams it applies to; nil: every stream.
    public var streams: Set<String>?
    /// Merchants whose products it applies to; nil: every merchant's.
    public var merchants: Set<String>?
    /// Credited by default on the streams its owner hosts, when the buyer brings no code
    /// that applies.
    public var hostDefault: Bool
    /// Validity window, milliseconds since the Unix epoch: from (inclusive), until (exclusive).
    public var validFrom: Int64?
    public var validUntil: Int64?
    /// Who registered it, and alone may change it with the admins: `admin` or `merchant:<id>`.
    public var registrar: String
    public var createdAt: Int64
    public var updatedAt: Int64
    /// Revoked codes stay, for the orders that name them, and are never credited again
    /// until registered anew.
    public var revokedAt: Int64?
    /// Who revoked it (a registrar's name): a code an admin revoked is revived by an admin only.
    public var revokedBy: String?
    /// The store's order of changes: each save takes the next one.
    public var revision: Int64

    public init(
        code: String, owner: String, commissionBasisPoints: Int64, streams: Set<String>? = nil, merchants: Set<String>? = nil,
        hostDefault: Bool = false, validFrom: Int64? = nil, validUntil: Int64? = nil, registrar: String = "admin",
        createdAt: Int64 = 0, updatedAt: Int64 = 0, revokedAt: Int64? = nil, revokedBy: String? = nil, revision: Int64 = 0
    ) {
        self.code = code
        self.owner = owner
        self.commissionBasisPoints = commissionBasisPoints
        self.streams = streams
        self.merchants = merchants
        self.hostDefault = hostDefault
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.registrar = registrar
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.revokedAt = revokedAt
        self.revokedBy = revokedBy
        self.revision = revision
    }

    /// A code as buyers type it, in canonical form: 3-32 of `[A-Za-z0-9_-]`, upper-cased;
    /// nil when it cannot be a code.
    public static func canonical(_ text: String) -> String? {
        let bytes = text.utf8
        guard (3...32).contains(bytes.count),
            bytes.allSatisfy({ byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            })
        else { return nil }
        return text.uppercased()
    }

    /// Not revoked, and within its validity window at `now`.
    public func isActive(at now: Int64) -> Bool {
        revokedAt == nil && (validFrom.map { now >= $0 } ?? true) && (validUntil.map { now < $0 } ?? true)
    }

    public func applies(to stream: StreamID) -> Bool {
        streams?.contains(stream.rawValue) ?? true
    }

    /// The credit it gives a checkout, as `source`.
    public func credit(_ source: AttributionCredit.Source) -> AttributionCredit {
        AttributionCredit(code: code, influencer: owner, commissionBasisPoints: commissionBasisPoints, merchants: merchants, source: source)
    }
}
