/// Per-kind validation of event data: the shape a schema would check (types, ranges,
/// required and unknown fields). Whether a product exists or a sale fits the catalog is
/// the commerce domain's business. Unknown fields are refused so that typos in a
/// broadcast tool surface at once instead of silently reaching every viewer.
enum EventValidator {

    indirect enum Field {
        case product
        case identifier
        case text(maxLength: Int)
        case nonNegativeInt
        case positiveInt
        case currency
        /// A `RegionRule`: "DE", "DE-BE", "DE:10", "DE:10000-14999".
        case region
        case object(Rule)
        case array(of: Field, maxCount: Int)
    }

    struct Rule {
        var required: [String: Field] = [:]
        var optional: [String: Field] = [:]
    }

    static let maxCatalogProducts = 1_000

    static let variant = Rule(required: ["id": .identifier, "title": .text(maxLength: 100)], optional: ["price": .nonNegativeInt, "stock": .nonNegativeInt])

    static let product = Rule(
        required: ["id": .product, "title": .text(maxLength: 200), "merchant": .identifier, "price": .nonNegativeInt, "currency": .currency],
        optional: [
            "variants": .array(of: .object(variant), maxCount: 50),
            "stock": .nonNegativeInt,
            "low_stock_threshold": .nonNegativeInt,
            "regions": .array(of: .region, maxCount: 100),
            "image_url": .text(maxLength: 2048),
            "description": .text(maxLength: 2000),
        ]
    )

    static let saleItem = Rule(required: ["product": .product, "price": .nonNegativeInt])

    static let sale = Rule(
        required: ["sale": .identifier],
        optional: [
            "title": .text(maxLength: 200),
            "items": .array(of: .object(saleItem), maxCount: 20),
            "starts_at": .nonNegativeInt,
            "ends_at": .positiveInt,
            "duration_ms": .positiveInt,
            "total_limit": .positiveInt,
            "per_buyer_limit": .positiveInt,
        ]
    )

    private static func rule(for kind: EventKind) -> Rule {
        switch kind {
        case .catalogSet:
            return Rule(required: ["products": .array(of: .object(product), maxCount: maxCatalogProducts)])
        case .productUpsert:
            return Rule(required: ["product": .object(product)])
        case .productRemoved, .productPinned, .productUnpinned:
            return Rule(required: ["product": .product])
        case .priceChanged:
            return Rule(required: ["product": .product, "price": .nonNegativeInt], optional: ["currency": .currency])
        case .stockChanged:
            return Rule(required: ["product": .product, "level": .nonNegativeInt], optional: ["variant": .identifier, "low_stock_threshold": .nonNegativeInt])
        case .saleScheduled:
            return sale
        case .saleStarted:
            // Starts now: a start time would be ignored, so it is refused.
            var started = sale
            started.optional["starts_at"] = nil
            return started
        case .saleEnded:
            return Rule(required: ["sale": .identifier])
        case .announcement:
            return Rule(required: ["text": .text(maxLength: 500)])
        case .streamStarted:
            return Rule(optional: ["title": .text(maxLength: 200), "player_url": .text(maxLength: 2048)])
        case .streamEnded:
            return Rule()
        case .questionAnswered:
            return Rule(required: ["question": .identifier])
        }
    }

    /// Every kind's rule, built once: validating an event (every publish) then allocates
    /// nothing unless it fails.
    private static let rules: [EventKind: Rule] = Dictionary(uniqueKeysWithValues: EventKind.allCases.map { ($0, rule(for: $0)) })

    static func validate(kind: EventKind, data: [String: JSONValue]) throws(EventValidationError) {
        try validate(data, rules[kind] ?? rule(for: kind), path: kind.rawValue)
    }

    // Paths ("catalog.set.products[3].price") are built only for an error message.
    private static func validate(_ data: [String: JSONValue], _ rule: Rule, path: @autoclosure () -> String) throws(EventValidationError) {
        if rule.required.keys.contains(where: { data[$0] == nil }) {
            // Sorted, so that the first missing field named is always the same one.
            for (name, field) in rule.required.sorted(by: { $0.key < $1.key }) where data[name] == nil {
                throw invalid("\(path()) needs '\(name)' (\(describe(field)))")
            }
        }
        for (name, value) in data {
            guard let field = rule.required[name] ?? rule.optional[name] else {
                throw invalid("\(path()) has no field '\(name.prefix(64))'")
            }
            try check(value, field, path: "\(path()).\(name)")
        }
    }

    private static func check(_ value: JSONValue, _ field: Field, path: @autoclosure () -> String) throws(EventValidationError) {
        switch field {
        case .object(let rule):
            guard let object = value.objectValue else { throw invalid("\(path()) must be an object") }
            try validate(object, rule, path: path())
        case .array(let element, let maxCount):
            guard case .array(let values) = value else { throw invalid("\(path()) must be an array") }
            guard values.count <= maxCount else { throw invalid("\(path()) holds at most \(maxCount) entries") }
            for (index, value) in values.enumerated() {
                try check(value, element, path: "\(path())[\(index)]")
            }
        default:
            guard matches(value, field) else { throw invalid("\(path()) must be \(describe(field))") }
        }
    }

    static func stateKey(kind: EventKind, data: [String: JSONValue]) -> String {
        func product() -> String { data["product"]?.stringValue ?? data["product"]?.objectValue?["id"]?.stringValue ?? "" }
        switch kind {
        case .catalogSet: return "catalog"
        case .productUpsert, .productRemoved: return "product:" + product()
        case .productPinned, .productUnpinned: return "pinned"
        case .priceChanged: return "price:" + product()
        // Each variant's level is its own state: one must not replace another's.
        case .stockChanged: return "stock:" + product() + (data["variant"]?.stringValue.map { "/" + $0 } ?? "")
        case .saleScheduled, .saleStarted, .saleEnded: return "sale:" + (data["sale"]?.stringValue ?? "")
        case .announcement: return "announcement"
        case .streamStarted, .streamEnded: return "stream"
        case .questionAnswered: return "question:" + (data["question"]?.stringValue ?? "")
        }
    }

    private static func matches(_ value: JSONValue, _ field: Field) -> Bool {
        switch field {
        case .product, .identifier:
            guard let text = value.stringValue else { return false }
            return Identifier.isValid(text)
        case .text(let maxLength):
            guard let text = value.stringValue else { return false }
            return !text.isEmpty && text.unicodeScalars.count <= maxLength
        case .nonNegativeInt:
            guard let number = value.intValue else { return false }
            return number >= 0
        case .positiveInt:
            guard let number = value.intValue else { return false }
            return number > 0
        case .currency:
            guard let text = value.stringValue else { return false }
            return text.utf8.count == 3 && text.utf8.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
        case .region:
            return value.stringValue.flatMap(RegionRule.init) != nil
        case .object, .array:
            return false
        }
    }

    private static func describe(_ field: Field) -> String {
        switch field {
        case .product: return "a product id: 1-64 of [A-Za-z0-9_.:-], starting alphanumeric"
        case .identifier: return "an id: 1-64 of [A-Za-z0-9_.:-], starting alphanumeric"
        case .text(let maxLength): return "a non-empty string of at most \(maxLength) characters"
        case .nonNegativeInt: return "an integer in 0...\(JSONValue.maxSafeInteger)"
        case .positiveInt: return "an integer in 1...\(JSONValue.maxSafeInteger)"
        case .currency: return "an ISO 4217 code such as \"EUR\""
        case .region: return "a region: a country (\"DE\", ISO 3166-1), a subdivision (\"DE-BE\", ISO 3166-2) or postcodes (\"DE:10\", \"DE:10000-14999\")"
        case .object: return "an object"
        case .array(_, let maxCount): return "an array of at most \(maxCount) entries"
        }
    }

    private static func invalid(_ message: String) -> EventValidationError {
        EventValidationError(code: .invalidEvent, message: message)
    }
}
