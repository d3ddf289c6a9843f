import HawkerProtocol

/// A product in a stream's catalog. Prices are integer minor units of `currency`.
public struct Product: Sendable, Hashable, Codable {
    public struct Variant: Sendable, Hashable, Codable {
        public var id: String
        public var title: String
        /// Overrides the product's price when set.
        public var price: Int64?
        /// Units left of this variant, when its stock is kept per variant.
        public var stock: Int64?
    }

    public var id: String
    public var title: String
    /// The merchant of record: who fulfils and is paid for this product.
    public var merchant: String
    public var price: Int64
    public var currency: String
    /// The price before the last drop, while the drop lasts (viewers see it struck through).
    public var previousPrice: Int64?
    public var variants: [Variant]
    /// Units left; nil when the host does not track stock.
    public var stock: Int64?
    public var lowStockThreshold: Int64
    /// Where the product ships (`RegionRule`); empty means everywhere its merchant ships.
    public var regions: [RegionRule]
    public var imageURL: String?
    public var description: String?

    public static let defaultLowStockThreshold: Int64 = 5

    /// Builds a product from an object `EventValidator` has already shape-checked.
    init(validated object: [String: JSONValue]) {
        id = object["id"]?.stringValue ?? ""
        title = object["title"]?.stringValue ?? ""
        merchant = object["merchant"]?.stringValue ?? ""
        price = object["price"]?.intValue ?? 0
        currency = object["currency"]?.stringValue ?? ""
        previousPrice = nil
        if case .array(let values) = object["variants"] ?? .null {
            variants = values.compactMap(\.objectValue).map {
                Variant(id: $0["id"]?.stringValue ?? "", title: $0["title"]?.stringValue ?? "", price: $0["price"]?.intValue, stock: $0["stock"]?.intValue)
            }
        } else {
            variants = []
        }
        stock = object["stock"]?.intValue
        lowStockThreshold = object["low_stock_threshold"]?.intValue ?? Self.defaultLowStockThreshold
        if case .array(let values) = object["regions"] ?? .null {
            regions = values.compactMap(\.stringValue).map(RegionRule.init(restoring:))
        } else {
            regions = []
        }
        imageURL = object["image_url"]?.stringValue
        description = object["description"]?.stringValue
    }

    /// Whose stock this is: the merchant's product, whatever stream shows it.
    public var sku: SKU { SKU(merchant: merchant, product: id) }

    /// One variant's stock (the product's for nil).
    public func sku(variant: String?) -> SKU { SKU(merchant: merchant, product: id, variant: variant) }

    /// The product's SKU and its variants': what its shown levels follow.
    public var skus: [SKU] { [sku] + variants.map { sku(variant: $0.id) } }

    public var isSoldOut: Bool { stock == 0 }
    public var isLowStock: Bool { stock.map { $0 > 0 && $0 <= lowStockThreshold } ?? false }

    public func variant(_ id: String) -> Variant? { variants.first { $0.id == id } }

    /// Whether the product's own regions cover `destination` (its merchant's zones are
    /// checked apart).
    public func ships(to destination: Destination) -> Bool {
        regions.covers(destination)
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "title": .string(title), "merchant": .string(merchant),
            "price": .int(price), "currency": .string(currency),
            "sold_out": .bool(isSoldOut), "low_stock": .bool(isLowStock),
            "low_stock_threshold": .int(lowStockThreshold),
        ]
        if let previousPrice { object["previous_price"] = .int(previousPrice) }
        if !variants.isEmpty {
            object["variants"] = .array(
                variants.map { variant in
                    var entry: [String: JSONValue] = ["id": .string(variant.id), "title": .string(variant.title)]
                    if let price = variant.price { entry["price"] = .int(price) }
                    if let stock = variant.stock {
                        entry["stock"] = .int(stock)
                        entry["sold_out"] = .bool(stock == 0)
                        entry["low_stock"] = .bool(stock > 0 && stock <= lowStockThreshold)
                    }
                    return .object(entry)
                })
        }
        if let stock { object["stock"] = .int(stock) }
        if !regions.isEmpty { object["regions"] = .array(regions.map { .string($0.text) }) }
        if let imageURL { object["image_url"] = .string(imageURL) }
        if let description { object["description"] = .string(description) }
        return .object(object)
    }
}
