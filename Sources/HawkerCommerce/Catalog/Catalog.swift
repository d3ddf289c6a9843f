/// A stream's products in the order the host listed them, bounded.
public struct Catalog: Sendable, Hashable {
    private var products: [String: Product] = [:]
    private(set) var order: [String] = []
    public let maxProducts: Int

    public init(maxProducts: Int) {
        self.maxProducts = maxProducts
    }

    public var count: Int { order.count }
    public var all: [Product] { order.compactMap { products[$0] } }

    public subscript(id: String) -> Product? {
        get { products[id] }
        set {
            if let newValue {
                if products.updateValue(newValue, forKey: id) == nil { order.append(id) }
            } else if products.removeValue(forKey: id) != nil {
                order.removeAll { $0 == id }
            }
        }
    }

    public var isFull: Bool { order.count >= maxProducts }

    mutating func replaceAll(with list: [Product]) {
        products = [:]
        order = []
        for product in list { self[product.id] = product }
    }
}
