import HawkerProtocol

extension MerchantTerms {
    /// Why terms sent by an admin were refused.
    public struct Invalid: Error, Sendable, Hashable {
        public var message: String
    }

    /// `{currency, prices_include_tax, zones: [{name, regions, shipping, free_shipping_from?, tax_bps}]}`:
    /// the stored form and the API's.
    public var json: JSONValue {
        [
            "currency": .string(currency), "prices_include_tax": .bool(pricesIncludeTax),
            "zones": .array(
                zones.map { zone in
                    var object: [String: JSONValue] = [
                        "name": .string(zone.name), "regions": .array(zone.regions.map { .string($0.text) }), "shipping": .int(zone.shipping),
                        "tax_bps": .int(zone.taxBasisPoints),
                    ]
                    if let free = zone.freeShippingFrom { object["free_shipping_from"] = .int(free) }
                    return .object(object)
                }),
        ]
    }

    /// Checks every field's type and range: an ISO 4217 currency, 0-50 zones of 1-100
    /// regions (`RegionRule`), amounts within 2^53 − 1, tax rates 0-10000 basis points.
    public static func parse(_ json: JSONValue) throws(Invalid) -> MerchantTerms {
        guard let fields = json.objectValue else { throw Invalid(message: "'terms' is an object {currency, prices_include_tax, zones}") }
        try known(fields, ["currency", "prices_include_tax", "zones"], in: "terms")
        guard let currency = fields["currency"]?.stringValue, currency.utf8.count == 3,
            currency.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) })
        else { throw Invalid(message: "'terms.currency' is an ISO 4217 code such as \"EUR\": its products are priced in it") }
        guard let included = fields["prices_include_tax"]?.boolValue else {
            throw Invalid(message: "'terms.prices_include_tax' is true (prices include tax, as in the EU) or false (tax is added)")
        }
        guard let values = fields["zones"]?.arrayValue, values.count <= maxZones else {
            throw Invalid(message: "'terms.zones' is a list of at most \(maxZones) zones, the first that covers an address applying")
        }
        var zones: [ShippingZone] = []
        for (index, value) in values.enumerated() {
            let path = "terms.zones[\(index)]"
            guard let zone = value.objectValue else { throw Invalid(message: "'\(path)' is an object {name, regions, shipping, free_shipping_from?, tax_bps}") }
            try known(zone, ["name", "regions", "shipping", "free_shipping_from", "tax_bps"], in: path)
            guard let name = zone["name"]?.stringValue, (1...100).contains(name.unicodeScalars.count) else {
                throw Invalid(message: "'\(path).name' is 1-100 characters")
            }
            guard let texts = zone["regions"]?.arrayValue, (1...ShippingZone.maxRegions).contains(texts.count) else {
                throw Invalid(message: "'\(path).regions' is a list of 1-\(ShippingZone.maxRegions) regions")
            }
            var regions: [RegionRule] = []
            for text in texts {
                guard let rule = text.stringValue.flatMap(RegionRule.init) else {
                    throw Invalid(
                        message:
                            "'\(path).regions' holds regions: a country (\"DE\"), a subdivision (\"DE-BE\") or postcodes (\"DE:10\", \"DE:10000-14999\"); '\(text.stringValue ?? "a non-string")' is none"
                    )
                }
                regions.append(rule)
            }
            func amount(_ name: String) throws(Invalid) -> Int64? {
                guard let value = zone[name], value != .null else { return nil }
                guard let number = value.intValue, (0...JSONValue.maxSafeInteger).contains(number) else {
                    throw Invalid(message: "'\(path).\(name)' is an amount in minor units: an integer 0-\(JSONValue.maxSafeInteger)")
                }
                return number
            }
            guard let shipping = try amount("shipping") else { throw Invalid(message: "'\(path).shipping' is required (0 for free)") }
            guard let rate = zone["tax_bps"]?.intValue, (0...ShippingZone.maxTaxBasisPoints).contains(rate) else {
                throw Invalid(message: "'\(path).tax_bps' is the tax rate in basis points: an integer 0-10000 (1900 = 19 %)")
            }
            zones.append(ShippingZone(name: name, regions: regions, shipping: shipping, freeShippingFrom: try amount("free_shipping_from"), taxBasisPoints: rate))
        }
        return MerchantTerms(currency: currency, pricesIncludeTax: included, zones: zones)
    }

    private static func known(_ fields: [String: JSONValue], _ names: Set<String>, in path: String) throws(Invalid) {
        if let unknown = fields.keys.sorted().first(where: { !names.contains($0) }) {
            throw Invalid(message: "unknown field '\(path).\(unknown)' (fields: \(names.sorted().joined(separator: ", ")))")
        }
    }
}
