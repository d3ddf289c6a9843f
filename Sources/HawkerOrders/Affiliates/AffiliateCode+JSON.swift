import HawkerCommerce
import HawkerProtocol
import NIOCore

extension AffiliateCode {
    /// The API's and the store's form (`GET /v1/affiliate-codes/{code}`; PROTOCOL.md §11).
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "code": .string(code), "owner": .string(owner), "commission_bps": .int(commissionBasisPoints),
            "host_default": .bool(hostDefault), "registrar": .string(registrar), "created_at": .int(createdAt),
            "updated_at": .int(updatedAt), "revision": .int(revision),
        ]
        if let streams { object["streams"] = .array(streams.sorted().map { .string($0) }) }
        if let merchants { object["merchants"] = .array(merchants.sorted().map { .string($0) }) }
        if let validFrom { object["valid_from"] = .int(validFrom) }
        if let validUntil { object["valid_until"] = .int(validUntil) }
        if let revokedAt { object["revoked_at"] = .int(revokedAt) }
        if let revokedBy { object["revoked_by"] = .string(revokedBy) }
        return .object(object)
    }

    /// Reads the stored form back; nil when it does not hold a code.
    public init?(stored json: JSONValue) {
        guard let code = json["code"]?.stringValue.flatMap(Self.canonical), let owner = json["owner"]?.stringValue,
            let rate = json["commission_bps"]?.intValue, (0...AttributionCredit.maxBasisPoints).contains(rate),
            let registrar = json["registrar"]?.stringValue, let createdAt = json["created_at"]?.intValue,
            let updatedAt = json["updated_at"]?.intValue
        else { return nil }
        self.init(
            code: code, owner: owner, commissionBasisPoints: rate,
            streams: json["streams"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) },
            merchants: json["merchants"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) },
            hostDefault: json["host_default"]?.boolValue ?? false, validFrom: json["valid_from"]?.intValue,
            validUntil: json["valid_until"]?.intValue, registrar: registrar, createdAt: createdAt, updatedAt: updatedAt,
            revokedAt: json["revoked_at"]?.intValue, revokedBy: json["revoked_by"]?.stringValue, revision: json["revision"]?.intValue ?? 0)
    }
}

extension AffiliateCode: RevisionedDocument {
    /// Its row's key: the canonical name.
    public var key: String { code }

    /// A store's row: the document, with the revision its column holds.
    public init?(revision: Int64, document: String) {
        guard let json = try? JSONParser.parse(ByteBuffer(string: document)), var code = AffiliateCode(stored: json) else { return nil }
        code.revision = revision
        self = code
    }
}
