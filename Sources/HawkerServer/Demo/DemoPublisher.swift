import HawkerCommerce
import HawkerHub
import HawkerProtocol
import Logging
import NIOCore
import ServiceLifecycle

/// `hawker serve --demo`: a stream called `demo` with a small two-merchant catalog where
/// something plausible happens every few seconds (pins, price drops, stock ticking down,
/// flash sales, announcements, and optionally a small crowd chatting, asking and adding to
/// cart), so a newcomer sees everything move.
public struct DemoPublisher: Service {
    public static let stream = StreamID("demo")!
    /// The demo stream's host: the `sub` of the studio link `serve --demo` prints.
    public static let host = "demo-host"

    /// The demo's merchants, as registered at start (`PUT /v1/merchants/{id}` bodies):
    /// two sellers and a supplier. Northwind ships across the EU with VAT included and
    /// free shipping from 100 €; Cobbler & Co. ships to Germany and Austria only, and to
    /// Berlin (postcodes 10-14) for less; Loom Works weaves Northwind's merino scarf and
    /// ships it for Northwind (dropship: Northwind's sale, Loom Works' shipment).
    public static let merchantTerms: [(merchant: String, body: String)] = [
        (
            "northwind",
            #"{"name":"Northwind Outfitters","terms":{"currency":"EUR","prices_include_tax":true,"zones":["#
                + #"{"name":"Germany","regions":["DE"],"shipping":490,"free_shipping_from":10000,"tax_bps":1900},"#
                + #"{"name":"Austria","regions":["AT"],"shipping":790,"free_shipping_from":10000,"tax_bps":2000},"#
                + #"{"name":"France","regions":["FR"],"shipping":990,"tax_bps":2000}]},"#
                + #""suppliers":{"scarf-3":{"merchant":"loom-works","price":1200}}}"#
        ),
        (
            "cobbler-co",
            #"{"name":"Cobbler & Co.","terms":{"currency":"EUR","prices_include_tax":true,"zones":["#
                + #"{"name":"Berlin","regions":["DE:10-14"],"shipping":290,"tax_bps":1900},"#
                + #"{"name":"Germany","regions":["DE"],"shipping":590,"tax_bps":1900},"#
                + #"{"name":"Austria","regions":["AT"],"shipping":890,"tax_bps":2000}]}}"#
        ),
        ("loom-works", #"{"name":"Loom Works (supplier)"}"#),
    ]

    private let streams: any StreamEngine
    /// A small crowd chats, asks and adds to cart in the demo stream too.
    private let withCrowd: Bool
    private let interval: Duration
    private let logger: Logger

    private struct Product {
        var id: String
        var title: String
        var merchant: String
        var price: Int64
        var stock: Int64
        /// Prices drop from here and come back to it.
        var regularPrice: Int64 { Self.regular[id] ?? price }
        static let regular: [String: Int64] = ["jacket-42": 12_900, "boots-7": 9_900, "scarf-3": 2_900, "socks-9": 1_400]
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

    /// Returns once the gateway has started: its kept streams are back (the demo stream's
    /// events among them), so the demo's first events follow them instead of colliding.
    private let started: @Sendable () async throws -> Void

    public init(
        streams: any StreamEngine, crowd: Bool = true, interval: Duration = .seconds(3), logger: Logger,
        started: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.started = started
        self.streams = streams
        self.withCrowd = crowd
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        try await started()
        // Two merchants of record, as in an influencer's multi-merchant show (Northwind's
        // scarf is shipped by its supplier: its registration says so, not the catalog).
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
                // Down 10% at a time, back to the regular price after a few drops.
                products[index].price = product.price * 10 < product.regularPrice * 6 ? product.regularPrice : product.price * 9 / 10
                try await publish(.priceChanged, ["product": .string(product.id), "price": .int(products[index].price)])
            case 2:
                products[index].stock = product.stock > 3 ? product.stock - 3 : 50
                try await publish(.stockChanged, ["product": .string(product.id), "level": .int(products[index].stock)])
            case 3:
                try await publish(.productUnpinned, ["product": .string(products[(index + 2) % products.count].id)])
            case 4 where tick % 24 == 4:
                // A one-minute flash sale now and then, 20% off, two per buyer.
                try await publish(
                    .saleStarted,
                    [
                        "sale": .string("flash-\(tick)"), "title": "Flash sale",
                        "items": [["product": .string(product.id), "price": .int(product.price * 8 / 10)]],
                        "duration_ms": 60_000, "total_limit": 20, "per_buyer_limit": 2,
                    ])
            default:
                try await publish(.announcement, ["text": .string("Only \(product.stock) left of the \(product.title.lowercased())!")])
            }
            await crowd(tick: tick, product: product)
        }
    }

    /// Viewers of the demo: a chat line every tick, a question now and then (in varying
    /// words, so the question list merges them), and interest in the current product.
    private func crowd(tick: Int, product: Product) async {
        guard withCrowd else { return }
        let names = ["Ana", "Ben", "Chloé", "Dev", "Emi", "Farid", "Greta", "Hugo"]
        let lines = ["love this colour", "just ordered two!", "hi from Lyon 👋", "that price drop 🔥", "need this for winter", "so soft"]
        let questions = ["Is the lining strong?", "how strong is the lining", "does it come in navy?", "How long is shipping to Austria?", "is the lining strong??"]
        let name = names[tick % names.count]
        let viewer = Author(user: "demo-\(name.lowercased())", name: name, role: "viewer", isStaff: false)
        let action: StreamAction = tick % 3 == 0 ? .ask(text: questions[(tick / 3) % questions.count]) : .chat(text: lines[tick % lines.count])
        _ = try? await streams.perform(action, by: viewer, on: Self.stream).get()
        _ = try? await streams.perform(.intent(product: product.id, variant: nil, action: tick % 2 == 0 ? .addToCart : .view), by: viewer, on: Self.stream).get()
    }

    private func publish(_ kind: EventKind, _ data: [String: JSONValue]) async throws {
        let draft = try EventDraft(kind: kind, data: data)
        var attempt = 0
        while true {
            do {
                // As its host: the host's own influencer code is credited on it by default.
                let receipt = try await streams.publish(draft, to: Self.stream, creator: .user(Self.host)).get()
                logger.debug("demo event", metadata: ["kind": "\(kind.rawValue)", "seq": "\(receipt.position.seq)"])
                return
            } catch HubError.rejected(let refusal) {
                // A host's edits can collide with the script (a product removed, pins full).
                logger.debug("demo event refused", metadata: ["kind": "\(kind.rawValue)", "reason": "\(refusal.message)"])
                return
            } catch let error as HubError where error == .storeBehind || error == .runsElsewhere {
                // Retryable: the store is behind or away (a cluster's Redis not reached yet),
                // or the stream is moving between nodes.
                attempt += 1
                if attempt == 1 { logger.notice("the demo waits for the state store", metadata: ["error": "\(error)"]) }
                try await Task.sleep(for: .milliseconds(min(100 * attempt, 2_000)))
            }
        }
    }
}
