/// The kinds of stream events. Hosts publish all but the server-generated ones.
public enum EventKind: String, Sendable, Codable, CaseIterable {
    case catalogSet = "catalog.set"
    case productUpsert = "product.upsert"
    case productRemoved = "product.removed"
    case productPinned = "product.pinned"
    case productUnpinned = "product.unpinned"
    case priceChanged = "price.changed"
    case stockChanged = "stock.changed"
    case saleScheduled = "sale.scheduled"
    case saleStarted = "sale.started"
    case saleEnded = "sale.ended"
    case announcement = "announcement"
    case streamStarted = "stream.started"
    case streamEnded = "stream.ended"
    case questionAnswered = "question.answered"

    /// Kinds only the server produces (from `question.answer`); a publish of one is refused.
    public var isServerGenerated: Bool { self == .questionAnswered }
}
