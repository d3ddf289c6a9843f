extension CommerceState {
    /// What a restart brings back of the commerce state (the limits come from the
    /// configuration of the gateway that restores it).
    public struct Saved: Sendable, Hashable, Codable {
        var products: [Product]
        var pinned: [String]
        var sales: [FlashSale]
        var onAir: OnAir
        var title: String?
        var playerURL: String?
        var startedAt: Int64?
        var endedAt: Int64?
        var announcementText: String?
        var announcementAt: Int64?
    }

    public var saved: Saved {
        Saved(
            products: catalog.all, pinned: pinned, sales: sales.values.sorted { $0.id < $1.id }, onAir: onAir, title: title, playerURL: playerURL,
            startedAt: startedAt, endedAt: endedAt, announcementText: announcement?.text, announcementAt: announcement?.at
        )
    }

    /// The state `saved` describes, within today's limits (a catalog saved under larger
    /// ones keeps its first products).
    /// Stock levels are not part of it: they live in `stock` (restored apart).
    public init(restoring saved: Saved, limits: Limits, stock: any StockSource = LocalStock()) {
        self.init(limits: limits, stock: stock)
        for product in saved.products.filter(SavedValues.isSafe).prefix(limits.maxProducts) { catalog[product.id] = product }
        pinned = Array(saved.pinned.filter { catalog[$0] != nil }.prefix(limits.maxPinned))
        for sale in saved.sales.filter(SavedValues.isSafe).prefix(limits.maxSales) { sales[sale.id] = sale }
        onAir = saved.onAir
        title = saved.title
        playerURL = saved.playerURL
        startedAt = saved.startedAt.map(SavedValues.clamp)
        endedAt = saved.endedAt.map(SavedValues.clamp)
        if let text = saved.announcementText, let at = saved.announcementAt { announcement = (text, SavedValues.clamp(at)) }
    }
}
