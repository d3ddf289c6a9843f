/// A merchant's stock levels, set from its back office (`POST /v1/merchants/{m}/inventory`)
/// or its order service's connection (`inventory.set`): one to `maxItems` products or
/// variants, each with one change. Applied all or none.
public struct InventoryUpdate: Sendable, Hashable {
    public enum Change: Sendable, Hashable {
        /// The units the merchant holds, counting those in orders it has not settled yet.
        case onHand(Int64)
        /// What viewers may buy now: on hand becomes this plus the units pending.
        case available(Int64)
        /// Units added (a delivery) or taken (a count, damage) on hand.
        case adjust(Int64)
        /// No longer tracked: the product or variant is not limited.
        case untrack
    }

    public struct Item: Sendable, Hashable {
        public var product: String
        /// nil: the product's own level.
        public var variant: String?
        public var change: Change

        public init(product: String, variant: String? = nil, change: Change) {
            self.product = product
            self.variant = variant
            self.change = change
        }
    }

    public static let maxItems = 500

    public var items: [Item]

    public init(items: [Item]) {
        self.items = items
    }

    /// Reads `{"items": [{"product", "variant"?, "on_hand" | "available" | "adjust"}]}`
    /// (`"on_hand": null` stops tracking).
    public static func parse(_ fields: [String: JSONValue]) throws(InvalidInventoryUpdate) -> InventoryUpdate {
        guard case .array(let entries) = fields["items"] ?? .null, (1...maxItems).contains(entries.count) else {
            throw InvalidInventoryUpdate("'items' must be an array of 1-\(maxItems) {product, variant?, on_hand | available | adjust}")
        }
        var items: [Item] = []
        var seen = Set<String>()
        for (index, entry) in entries.enumerated() {
            guard let object = entry.objectValue else { throw InvalidInventoryUpdate("items[\(index)] must be an object") }
            guard let product = object["product"]?.stringValue, Identifier.isValid(product) else {
                throw InvalidInventoryUpdate("items[\(index)].product must be a product id: 1-64 of [A-Za-z0-9_.:-], starting alphanumeric")
            }
            var variant: String?
            if let value = object["variant"], value != .null {
                guard let text = value.stringValue, Identifier.isValid(text) else {
                    throw InvalidInventoryUpdate("items[\(index)].variant must be a variant id")
                }
                variant = text
            }
            guard seen.insert(product + "\u{0}" + (variant ?? "")).inserted else {
                throw InvalidInventoryUpdate("items[\(index)] names \(product)\(variant.map { "/" + $0 } ?? "") again: one change per product or variant")
            }
            let changes = ["on_hand", "available", "adjust"].filter { object[$0] != nil }
            guard changes.count == 1, let name = changes.first, let value = object[name] else {
                throw InvalidInventoryUpdate("items[\(index)] needs exactly one of 'on_hand', 'available' or 'adjust'")
            }
            let change: Change
            switch (name, value.intValue) {
            case ("on_hand", _) where value == .null:
                change = .untrack
            case ("on_hand", let level?) where level >= 0:
                change = .onHand(level)
            case ("available", let level?) where level >= 0:
                change = .available(level)
            case ("adjust", let delta?):
                change = .adjust(delta)
            default:
                let range = name == "adjust" ? "±(2^53 − 1)" : "0 to 2^53 − 1"
                throw InvalidInventoryUpdate("items[\(index)].\(name) must be an integer from \(range)\(name == "on_hand" ? ", or null to stop tracking" : "")")
            }
            items.append(Item(product: product, variant: variant, change: change))
        }
        return InventoryUpdate(items: items)
    }
}

/// Why an inventory update was refused as written.
public struct InvalidInventoryUpdate: Error, Sendable, Hashable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }
}
