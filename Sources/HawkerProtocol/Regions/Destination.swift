/// Where a buyer's order ships: an ISO 3166-1 country, optionally an ISO 3166-2
/// subdivision and a postcode. What region rules (products', merchants' zones) match.
public struct Destination: Sendable, Hashable {
    /// Upper-case alpha-2 code.
    public var country: String
    /// The part after "CC-" in ISO 3166-2 ("BE" of "DE-BE"), upper case.
    public var subdivision: String?
    /// Upper case, without spaces and dashes ("SW1A1AA", "123456789").
    public var postcode: String?

    public static let maxPostcodeLength = 10

    /// Checks and normalises: nil when the country is not assigned, the subdivision is not
    /// 1-3 letters or digits (its country prefix, if written, must be the country's), or
    /// the postcode is not 1-10 letters and digits once spaces and dashes are removed.
    public init?(country: String, subdivision: String? = nil, postcode: String? = nil) {
        guard let country = CountryCode.canonical(country) else { return nil }
        self.country = country
        if let subdivision {
            guard subdivision.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
            var code = Substring(subdivision.uppercased())
            if code.hasPrefix(country + "-") { code = code.dropFirst(3) }
            guard (1...3).contains(code.utf8.count), code.utf8.allSatisfy(\.isASCIIAlphanumeric) else { return nil }
            self.subdivision = String(code)
        }
        if let postcode {
            guard postcode.utf8.count <= 16, postcode.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
            let kept = postcode.uppercased().utf8.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "-") }
            guard (1...Self.maxPostcodeLength).contains(kept.count), kept.allSatisfy(\.isASCIIAlphanumeric) else { return nil }
            self.postcode = String(decoding: kept, as: UTF8.self)
        }
    }

    /// From the short `region` form: "DE" or "DE-BE".
    public init?(region: String) {
        let parts = region.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        self.init(country: String(parts[0]), subdivision: parts.count == 2 ? String(parts[1]) : nil)
    }

    /// From `{country, subdivision?, postcode?}`; nil when a field is missing, of the wrong
    /// type or invalid, or an unknown field is present.
    public init?(json: JSONValue) {
        guard let object = json.objectValue, let country = object["country"]?.stringValue,
            object.keys.allSatisfy({ ["country", "subdivision", "postcode"].contains($0) })
        else { return nil }
        func optional(_ name: String) -> String?? {
            guard let value = object[name] else { return .some(nil) }
            return value.stringValue.map { .some($0) } ?? nil
        }
        guard let subdivision = optional("subdivision"), let postcode = optional("postcode") else { return nil }
        self.init(country: country, subdivision: subdivision, postcode: postcode)
    }

    /// "DE" or "DE-BE": what orders keep as `region`.
    public var region: String { subdivision.map { "\(country)-\($0)" } ?? country }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["country": .string(country)]
        if let subdivision { object["subdivision"] = .string("\(country)-\(subdivision)") }
        if let postcode { object["postcode"] = .string(postcode) }
        return .object(object)
    }
}

extension Destination: ExpressibleByStringLiteral {
    /// "DE", "DE-BE" in code and tests; a literal that is no region is a programmer error.
    public init(stringLiteral value: String) {
        guard let destination = Destination(region: value) else { preconditionFailure("'\(value)' is not a region such as \"DE\" or \"DE-BE\"") }
        self = destination
    }
}
