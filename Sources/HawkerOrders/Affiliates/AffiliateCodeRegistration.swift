import HawkerCommerce
import HawkerProtocol

/// The body of `PUT /v1/affiliate-codes/{code}`, checked: every field's type and range,
/// before anything is stored.
public struct AffiliateCodeRegistration: Sendable, Hashable {
    public var owner: String
    public var commissionBasisPoints: Int64
    public var streams: Set<String>?
    public var merchants: Set<String>?
    public var hostDefault: Bool
    public var validFrom: Int64?
    public var validUntil: Int64?

    public init(
        owner: String, commissionBasisPoints: Int64, streams: Set<String>? = nil, merchants: Set<String>? = nil, hostDefault: Bool = false,
        validFrom: Int64? = nil, validUntil: Int64? = nil
    ) {
        self.owner = owner
        self.commissionBasisPoints = commissionBasisPoints
        self.streams = streams
        self.merchants = merchants
        self.hostDefault = hostDefault
        self.validFrom = validFrom
        self.validUntil = validUntil
    }

    public struct Invalid: Error, Sendable {
        public var message: String
    }

    static let fields: Set<String> = ["owner", "commission_bps", "streams", "merchants", "host_default", "valid_from", "valid_until"]

    public static func parse(_ fields: [String: JSONValue]) throws(Invalid) -> AffiliateCodeRegistration {
        if let unknown = fields.keys.sorted().first(where: { !Self.fields.contains($0) }) {
            throw Invalid(message: "unknown field '\(unknown)' (fields: \(Self.fields.sorted().joined(separator: ", ")))")
        }
        guard let owner = fields["owner"]?.stringValue, (1...128).contains(owner.unicodeScalars.count),
            owner.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F })
        else { throw Invalid(message: "'owner' is the influencer's token sub: 1-128 printable characters") }
        guard let rate = fields["commission_bps"]?.intValue, (0...AttributionCredit.maxBasisPoints).contains(rate) else {
            throw Invalid(message: "'commission_bps' is the commission in basis points: an integer 0-10000 (1000 = 10 %)")
        }
        func list(_ name: String, valid: (String) -> Bool, what: String) throws(Invalid) -> Set<String>? {
            guard let value = fields[name], value != .null else { return nil }
            guard let items = value.arrayValue, (1...AffiliateCode.maxScope).contains(items.count) else {
                throw Invalid(message: "'\(name)' is a list of 1-\(AffiliateCode.maxScope) \(what) (leave it out for all)")
            }
            var set: Set<String> = []
            for item in items {
                guard let text = item.stringValue, valid(text) else { throw Invalid(message: "'\(name)' holds \(what): '\(item)' is not one") }
                set.insert(text)
            }
            return set
        }
        func time(_ name: String) throws(Invalid) -> Int64? {
            guard let value = fields[name], value != .null else { return nil }
            guard let time = value.intValue, (0...JSONValue.maxSafeInteger).contains(time) else {
                throw Invalid(message: "'\(name)' is milliseconds since the Unix epoch")
            }
            return time
        }
        let streams = try list("streams", valid: { StreamID($0) != nil }, what: "stream ids")
        let merchants = try list("merchants", valid: Identifier.isValid, what: "merchant ids")
        var hostDefault = false
        if let value = fields["host_default"], value != .null {
            guard let flag = value.boolValue else { throw Invalid(message: "'host_default' is true or false") }
            hostDefault = flag
        }
        let from = try time("valid_from")
        let until = try time("valid_until")
        if let from, let until, until <= from { throw Invalid(message: "'valid_until' must be after 'valid_from'") }
        return AffiliateCodeRegistration(
            owner: owner, commissionBasisPoints: rate, streams: streams, merchants: merchants, hostDefault: hostDefault, validFrom: from,
            validUntil: until)
    }
}
