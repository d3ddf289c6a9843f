/// What a viewer did with a product. Raw values are the wire names used in `intent` frames.
public enum IntentAction: String, Sendable, Hashable, CaseIterable {
    case view
    case addToCart = "add_to_cart"
    case removeFromCart = "remove_from_cart"
    case checkout
    case purchase

    /// Dense index into per-action arrays, so per-product state avoids a dictionary per action.
    var ordinal: Int {
        switch self {
        case .view: 0
        case .addToCart: 1
        case .removeFromCart: 2
        case .checkout: 3
        case .purchase: 4
        }
    }
}
