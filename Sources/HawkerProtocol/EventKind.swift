/// The stream event kinds hosts may publish. The commerce domain adds more.
public enum EventKind: String, Sendable, Codable, CaseIterable {
    case productPinned = "product.pinned"
    case productUnpinned = "product.unpinned"
    case priceChanged = "price.changed"
    case stockChanged = "stock.changed"
    case announcement = "announcement"
    case streamStarted = "stream.started"
    case streamEnded = "stream.ended"
}
