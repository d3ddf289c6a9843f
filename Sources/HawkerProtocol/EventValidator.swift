/// Per-kind validation of event data. Unknown fields are refused so that typos in a
/// broadcast tool surface at once instead of silently reaching every viewer.
enum EventValidator {

    private enum Field {
        case product
        case text(maxLength: Int)
        case nonNegativeInt
        case currency
    }

    private struct Rule {
        var required: [String: Field] = [:]
        var optional: [String: Field] = [:]
    }

    private static func rule(for kind: EventKind) -> Rule {
        switch kind {
        case .productPinned:
            return Rule(
                required: ["product": .product],
                optional: ["title": .text(maxLength: 200), "price": .nonNegativeInt, "currency": .currency, "image_url": .text(maxLength: 2048)]
            )
        case .productUnpinned:
            return Rule(required: ["product": .product])
        case .priceChanged:
            return Rule(required: ["product": .product, "price": .nonNegativeInt, "currency": .currency], optional: ["previous": .nonNegativeInt])
        case .stockChanged:
            return Rule(required: ["product": .product, "level": .nonNegativeInt])
        case .announcement:
            return Rule(required: ["text": .text(maxLength: 500)])
        case .streamStarted:
            return Rule(optional: ["title": .text(maxLength: 200)])
        case .streamEnded:
            return Rule()
        }
    }

    static func validate(kind: EventKind, data: [String: JSONValue]) throws(EventValidationError) {
        let rule = rule(for: kind)
        for (name, field) in rule.required where data[name] == nil {
            throw invalid("\(kind.rawValue) needs '\(name)' (\(describe(field)))")
        }
        for (name, value) in data {
            guard let field = rule.required[name] ?? rule.optional[name] else {
                throw invalid("\(kind.rawValue) has no field '\(name.prefix(64))'")
            }
            guard matches(value, field) else {
                throw invalid("\(kind.rawValue).\(name) must be \(describe(field))")
            }
        }
    }

    static func stateKey(kind: EventKind, data: [String: JSONValue]) -> String {
        switch kind {
        case .productPinned, .productUnpinned: return "pinned"
        case .priceChanged: return "price:" + (data["product"]?.stringValue ?? "")
        case .stockChanged: return "stock:" + (data["product"]?.stringValue ?? "")
        case .announcement: return "announcement"
        case .streamStarted, .streamEnded: return "stream"
        }
    }

    private static func matches(_ value: JSONValue, _ field: Field) -> Bool {
        switch field {
        case .product:
            guard let text = value.stringValue else { return false }
            return isProductID(text)
        case .text(let maxLength):
            guard let text = value.stringValue else { return false }
            return !text.isEmpty && text.count <= maxLength
        case .nonNegativeInt:
            guard let number = value.intValue else { return false }
            return number >= 0
        case .currency:
            guard let text = value.stringValue else { return false }
            return text.utf8.count == 3 && text.utf8.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
        }
    }

    private static func describe(_ field: Field) -> String {
        switch field {
        case .product: return "a product id: 1-64 of [A-Za-z0-9_.:-], starting alphanumeric"
        case .text(let maxLength): return "a non-empty string of at most \(maxLength) characters"
        case .nonNegativeInt: return "an integer >= 0"
        case .currency: return "an ISO 4217 code such as \"EUR\""
        }
    }

    static func isProductID(_ text: String) -> Bool {
        let bytes = text.utf8
        guard (1...64).contains(bytes.count), let first = bytes.first, first.isASCIIAlphanumeric else { return false }
        return bytes.allSatisfy {
            $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "-")
        }
    }

    private static func invalid(_ message: String) -> EventValidationError {
        EventValidationError(code: .invalidEvent, message: message)
    }
}
