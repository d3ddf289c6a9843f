import HawkerHub
import HawkerProtocol
import Logging
import NIOCore
import ServiceLifecycle

/// `hawker serve --demo`: a stream called `demo` with a small catalog where something
/// plausible happens every few seconds (pins, price drops, stock ticking down,
/// announcements), so a newcomer sees events move.
public struct DemoPublisher: Service {
    public static let stream = StreamID("demo")!

    private let broker: any Broker
    private let interval: Duration
    private let logger: Logger

    private struct Product {
        var id: String
        var title: String
        var price: Int64
        var stock: Int64
    }

    public init(broker: any Broker, interval: Duration = .seconds(3), logger: Logger) {
        self.broker = broker
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        var products = [
            Product(id: "jacket-42", title: "Waxed cotton jacket", price: 12_900, stock: 40),
            Product(id: "boots-7", title: "Leather chelsea boots", price: 9_900, stock: 25),
            Product(id: "scarf-3", title: "Merino scarf", price: 2_900, stock: 120),
        ]
        try await publish(.streamStarted, ["title": "Autumn outerwear drop"])
        for product in products {
            try await publish(.priceChanged, ["product": .string(product.id), "price": .int(product.price), "currency": "EUR"])
            try await publish(.stockChanged, ["product": .string(product.id), "level": .int(product.stock)])
        }
        var tick = 0
        while !(Task.isCancelled || Task.isShuttingDownGracefully) {
            try? await Task.sleep(for: interval)
            guard !(Task.isCancelled || Task.isShuttingDownGracefully) else { break }
            tick += 1
            let index = tick % products.count
            switch tick % 4 {
            case 0:
                let product = products[index]
                try await publish(.productPinned, ["product": .string(product.id), "title": .string(product.title), "price": .int(product.price), "currency": "EUR"])
            case 1:
                products[index].price = max(500, products[index].price * 9 / 10)
                try await publish(.priceChanged, ["product": .string(products[index].id), "price": .int(products[index].price), "currency": "EUR"])
            case 2:
                products[index].stock = products[index].stock > 3 ? products[index].stock - 3 : 50
                try await publish(.stockChanged, ["product": .string(products[index].id), "level": .int(products[index].stock)])
            default:
                try await publish(.announcement, ["text": .string("Only \(products[index].stock) left of the \(products[index].title.lowercased())!")])
            }
        }
    }

    private func publish(_ kind: EventKind, _ data: [String: JSONValue]) async throws {
        let draft = try EventDraft(kind: kind, data: data)
        let receipt = try await broker.publish(draft, to: Self.stream).get()
        logger.debug("demo event", metadata: ["kind": "\(kind.rawValue)", "seq": "\(receipt.position.seq)"])
    }
}
