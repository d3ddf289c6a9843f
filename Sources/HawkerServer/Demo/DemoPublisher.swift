import HawkerCommerce
import HawkerHub
import HawkerProtocol
import Logging
import NIOCore
import ServiceLifecycle

/// `hawker serve --demo`: a stream called `demo` with a small two-merchant catalog where
/// something plausible happens every few seconds (pins, price drops, stock ticking down,
/// flash sales, announcements), so a newcomer sees events move.
public struct DemoPublisher: Service {
    public static let stream = StreamID("demo")!

    private let broker: any Broker
    private let interval: Duration
    private let logger: Logger

    private struct Product {
        var id: String
        var title: String
        var merchant: String
        var price: Int64
        var stock: Int64
        var sizes: [String] = []

        var json: JSONValue {
            var object: [String: JSONValue] = [
                "id": .string(id), "title": .string(title), "merchant": .string(merchant),
                "price": .int(price), "currency": "EUR", "stock": .int(stock),
            ]
            if !sizes.isEmpty {
                object["variants"] = .array(sizes.map { ["id": .string($0.lowercased()), "title": .string($0)] })
            }
            return .object(object)
        }
    }

    public init(broker: any Broker, interval: Duration = .seconds(3), logger: Logger) {
        self.broker = broker
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        // Two merchants of record, as in an influencer's multi-merchant show.
        var products = [
            Product(id: "jacket-42", title: "Waxed cotton jacket", merchant: "northwind", price: 12_900, stock: 40, sizes: ["S", "M", "L"]),
            Product(id: "boots-7", title: "Leather chelsea boots", merchant: "cobbler-co", price: 9_900, stock: 25, sizes: ["40", "41", "42", "43"]),
            Product(id: "scarf-3", title: "Merino scarf", merchant: "northwind", price: 2_900, stock: 120),
            Product(id: "socks-9", title: "Wool hiking socks", merchant: "cobbler-co", price: 1_400, stock: 200),
        ]
        try await publish(.catalogSet, ["products": .array(products.map(\.json))])
        try await publish(.streamStarted, ["title": "Autumn outerwear drop"])
        try await publish(.productPinned, ["product": .string(products[0].id)])
        var tick = 0
        while !(Task.isCancelled || Task.isShuttingDownGracefully) {
            try? await Task.sleep(for: interval)
            guard !(Task.isCancelled || Task.isShuttingDownGracefully) else { break }
            tick += 1
            let index = tick % products.count
            let product = products[index]
            switch tick % 6 {
            case 0:
                try await publish(.productPinned, ["product": .string(product.id)])
            case 1:
                products[index].price = max(500, product.price * 9 / 10)
                try await publish(.priceChanged, ["product": .string(product.id), "price": .int(products[index].price)])
            case 2:
                products[index].stock = product.stock > 3 ? product.stock - 3 : 50
                try await publish(.stockChanged, ["product": .string(product.id), "level": .int(products[index].stock)])
            case 3:
                try await publish(.productUnpinned, ["product": .string(products[(index + 2) % products.count].id)])
            case 4 where tick % 24 == 4:
                // A one-minute flash sale now and then, 20% off, two per buyer.
                try await publish(.saleStarted, [
                    "sale": .string("flash-\(tick)"), "title": "Flash sale",
                    "items": [["product": .string(product.id), "price": .int(product.price * 8 / 10)]],
                    "duration_ms": 60_000, "total_limit": 20, "per_buyer_limit": 2,
                ])
            default:
                try await publish(.announcement, ["text": .string("Only \(product.stock) left of the \(product.title.lowercased())!")])
            }
        }
    }

    private func publish(_ kind: EventKind, _ data: [String: JSONValue]) async throws {
        let draft = try EventDraft(kind: kind, data: data)
        let receipt: PublishReceipt
        do {
            receipt = try await broker.publish(draft, to: Self.stream).get()
        } catch HubError.rejected(let refusal) {
            // A host's edits can collide with the script (a product removed, pins full).
            logger.debug("demo event refused", metadata: ["kind": "\(kind.rawValue)", "reason": "\(refusal.message)"])
            return
        }
        logger.debug("demo event", metadata: ["kind": "\(kind.rawValue)", "seq": "\(receipt.position.seq)"])
    }
}
