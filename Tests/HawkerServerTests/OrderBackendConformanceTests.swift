import Foundation
import HawkerCommerce
import HawkerOrders
import HawkerProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresNIO
import ServiceLifecycle
import Testing

@testable import HawkerServer

/// The one suite every order backend passes: a delivery becomes exactly one order at
/// the merchant whatever the number of redeliveries, with only that merchant's lines and
/// the cart's region and attribution; a merchant's refusal is final; an unreachable
/// merchant is "try again", never a loss.
@Suite struct OrderBackendConformanceTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case demo, webhook, postgres
        case orderService = "order_service"

        var testDescription: String { rawValue }
    }

    static let postgresURL = ProcessInfo.processInfo.environment["HAWKER_TEST_POSTGRES_URL"]
    static let kinds: [Kind] = Kind.allCases.filter { $0 != .postgres || postgresURL != nil }

    /// CI runs PostgreSQL (scripts/test.sh starts it): there its absence is a failure,
    /// not a quietly smaller suite.
    @Test func postgresIsThereInCI() {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(Self.postgresURL != nil, "scripts/test.sh must export HAWKER_TEST_POSTGRES_URL in CI")
        }
    }

    @Test(arguments: kinds)
    func aRedeliveredOrderIsOneOrderWithOnlyThatMerchantsLines(_ kind: Kind) async throws {
        let merchant = "m-\(UUID().uuidString.prefix(8).lowercased())"
        let harness = try await Harness.make(kind, merchant: merchant)
        let deliveries = try await Self.deliveries(merchants: [merchant, "other"])
        let delivery = try #require(deliveries.first { $0.merchant == merchant })
        guard let order = try await Self.deliveredTwice(delivery, to: harness) else { return }
        if let body = order.body {
            #expect(body["checkout_id"]?.stringValue == delivery.checkoutID)
            #expect(body["merchant"]?.stringValue == merchant)
            #expect(body["idempotency_key"]?.stringValue == "\(delivery.checkoutID):\(merchant)")
            #expect(body["region"] == "FR")
            #expect(body["attribution"]?["code"] == "ANNA10")
            let items = try #require(body["items"]?.arrayValue)
            #expect(items.count == 1)
            #expect(items.first?["merchant"]?.stringValue == merchant)
            #expect(items.first?["unit_price"] == 1_500)
        }
        await harness.tearDown()
    }

    /// A supplier gets the shipment it makes for a seller (dropship) as an order of its
    /// own, under its own key: the units it ships at its price, for the seller.
    @Test(arguments: kinds)
    func aShipmentReachesItsSupplierUnderItsOwnKey(_ kind: Kind) async throws {
        let supplier = "d-\(UUID().uuidString.prefix(8).lowercased())"
        let harness = try await Harness.make(kind, merchant: supplier)
        let shipment = try await Self.shipment(supplier: supplier, seller: "seller")
        #expect(shipment.idempotencyKey == "\(shipment.checkoutID):\(supplier)/for/seller")
        guard let order = try await Self.deliveredTwice(shipment, to: harness) else { return }
        if let body = order.body {
            #expect(body["kind"] == "shipment")
            #expect(body["merchant"]?.stringValue == supplier)
            #expect(body["seller"] == "seller")
            #expect(body["items"] == [["product": "mug", "qty": 2, "unit_cost": 800, "currency": "EUR"]])
            #expect(body["cost"] == [["currency": "EUR", "amount": 1_600]])
        }
        await harness.tearDown()
    }

    /// A buyer's request to cancel or return reaches the seller like an order, under its
    /// own key: which order (its reference), which units, why.
    @Test(arguments: kinds)
    func aBuyersRequestReachesItsSellerUnderItsOwnKey(_ kind: Kind) async throws {
        let seller = "r-\(UUID().uuidString.prefix(8).lowercased())"
        let harness = try await Harness.make(kind, merchant: seller)
        let request = try await Self.request(seller: seller)
        #expect(request.idempotencyKey == "\(request.checkoutID):\(seller)/request/rq-1")
        guard let order = try await Self.deliveredTwice(request, to: harness) else { return }
        if let body = order.body {
            #expect(body["kind"] == "return_request")
            #expect(body["merchant"]?.stringValue == seller)
            #expect(body["request_id"] == "rq-1")
            #expect(body["reference"] == "S-1")
            #expect(body["items"] == [["product": "mug", "qty": 1]])
            #expect(body["reason"] == "arrived chipped")
        }
        await harness.tearDown()
    }

    @Test(arguments: kinds.filter { $0 == .webhook || $0 == .orderService })
    func aMerchantsRefusalIsFinal(_ kind: Kind) async throws {
        let merchant = "m-\(UUID().uuidString.prefix(8).lowercased())"
        let harness = try await Harness.make(kind, merchant: merchant, refusing: "out of stock at the warehouse")
        let delivery = try #require(try await Self.deliveries(merchants: [merchant]).first)
        let result = await harness.run { backend in await backend.deliver(delivery) }
        #expect(result == .rejected(reason: "out of stock at the warehouse"))
        await harness.tearDown()
    }

    @Test(arguments: kinds.filter { $0 != .demo })
    func anUnreachableMerchantIsTryAgain(_ kind: Kind) async throws {
        let merchant = "m-\(UUID().uuidString.prefix(8).lowercased())"
        let harness = try await Harness.make(kind, merchant: merchant, unreachable: true)
        let delivery = try #require(try await Self.deliveries(merchants: [merchant]).first)
        let result = await harness.run { backend in await backend.deliver(delivery) }
        guard case .unavailable = result else {
            Issue.record("expected unavailable, got \(result)")
            return
        }
        await harness.tearDown()
    }

    // MARK: - Fixtures

    /// Delivers `delivery` twice: the merchant must hold one order under its idempotency
    /// key, and the redelivery get the first one's reference. The order; nil when the first
    /// delivery was not confirmed (recorded as an issue).
    static func deliveredTwice(_ delivery: OutboxDelivery, to harness: Harness) async throws -> Harness.Order? {
        let result = await harness.run { backend in
            (await backend.deliver(delivery), await backend.deliver(delivery))
        }
        guard case .confirmed(let reference) = result.0 else {
            Issue.record("first delivery: \(result.0)")
            return nil
        }
        #expect(result.1 == .confirmed(reference: reference), "a redelivery must return the first order's reference")
        let orders = try await harness.merchantOrders()
        #expect(orders.count == 1)
        let order = try #require(orders[delivery.idempotencyKey])
        #expect(order.reference == reference)
        return order
    }

    /// The shipment `supplier` makes for `seller` of two mugs at 8.00, once the seller
    /// confirmed its sale, as the outbox hands it out.
    static func shipment(supplier: String, seller: String) async throws -> OutboxDelivery {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-conformance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let outbox = try SQLiteOutbox(path: directory.appendingPathComponent("outbox.sqlite").path)
        let checkoutID = "ck_" + RandomID.hex16()
        let reservation = Reservation(
            checkoutID: checkoutID, buyer: "ana",
            lines: [
                .init(product: "tee", variant: nil, quantity: 1, unitPrice: 2_000, currency: "EUR", merchant: seller, sale: nil),
                .init(
                    product: "mug", variant: nil, quantity: 2, unitPrice: 1_500, currency: "EUR", merchant: seller, sale: nil,
                    supplier: Supplier(merchant: supplier, price: 800)),
            ],
            region: "FR", attribution: .init(code: "ANNA10", stream: "shop", referrer: nil),
            idempotencyKey: "key-\(checkoutID)", createdAt: Int64(Date().timeIntervalSince1970 * 1000)
        )
        try await outbox.append(reservation, stream: StreamID("shop")!)
        try await outbox.record(.confirmed(reference: "S-1"), checkoutID: checkoutID, merchant: seller, now: reservation.createdAt)
        return try #require(try await outbox.due(now: .max, limit: 10).first { $0.isShipment })
    }

    /// The buyer's request to `seller` to return one of two mugs of its confirmed order,
    /// as the outbox hands it out.
    static func request(seller: String) async throws -> OutboxDelivery {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-conformance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let outbox = try SQLiteOutbox(path: directory.appendingPathComponent("outbox.sqlite").path)
        let checkoutID = "ck_" + RandomID.hex16()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let reservation = Reservation(
            checkoutID: checkoutID, buyer: "ana",
            lines: [.init(product: "mug", variant: nil, quantity: 2, unitPrice: 1_500, currency: "EUR", merchant: seller, sale: nil)],
            region: "FR", attribution: .init(code: "ANNA10", stream: "shop", referrer: nil), idempotencyKey: "key-\(checkoutID)", createdAt: now)
        try await outbox.append(reservation, stream: StreamID("shop")!)
        try await outbox.record(.confirmed(reference: "S-1"), checkoutID: checkoutID, merchant: seller, now: now)
        _ = try await outbox.request(
            OrderRequest(
                checkoutID: checkoutID, merchant: seller, id: "rq-1", kind: .return, items: [.init(product: "mug", variant: nil, quantity: 1)],
                reason: "arrived chipped"), buyer: "ana", now: now
        ).get()
        return try #require(
            try await outbox.claimRequests(now: .max, limit: 10, claimMilliseconds: 1_000, excluding: [], skipping: [], skippingUnlessBefore: .min).first)
    }

    /// The deliveries of one checkout over `merchants`, as the outbox hands them out.
    static func deliveries(merchants: [String]) async throws -> [OutboxDelivery] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-conformance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let outbox = try SQLiteOutbox(path: directory.appendingPathComponent("outbox.sqlite").path)
        let checkoutID = "ck_" + RandomID.hex16()
        let reservation = Reservation(
            checkoutID: checkoutID, buyer: "ana",
            lines: merchants.enumerated().map { index, merchant in
                .init(product: "p\(index)", variant: nil, quantity: 1, unitPrice: 1_500, currency: "EUR", merchant: merchant, sale: nil)
            },
            region: "FR", attribution: .init(code: "ANNA10", stream: "shop", referrer: nil),
            idempotencyKey: "key-\(checkoutID)", createdAt: Int64(Date().timeIntervalSince1970 * 1000)
        )
        try await outbox.append(reservation, stream: StreamID("shop")!)
        return try await outbox.due(now: .max, limit: 10)
    }
}

/// One backend and the merchant's side of it.
struct Harness: Sendable {
    typealias Order = (reference: String, body: [String: JSONValue]?)

    let backend: any OrderBackend
    let merchantOrders: @Sendable () async throws -> [String: Order]
    let tearDown: @Sendable () async -> Void

    /// Runs `body` while the backend's own service (a connection pool) runs.
    func run<T: Sendable>(_ body: @escaping @Sendable (any OrderBackend) async -> T) async -> T {
        guard let service = backend.service else { return await body(backend) }
        return await withTaskGroup(of: T?.self) { group in
            group.addTask {
                try? await service.run()
                return nil
            }
            group.addTask { await body(backend) }
            var answer: T?
            for await value in group {
                if let value {
                    answer = value
                    group.cancelAll()
                }
            }
            return answer!
        }
    }

    static func make(_ kind: OrderBackendConformanceTests.Kind, merchant: String, refusing reason: String? = nil, unreachable: Bool = false) async throws -> Harness {
        switch kind {
        case .demo:
            let demo = DemoOrderBackend(delay: .zero)
            return Harness(
                backend: demo,
                // The demo keeps references only: no payload to check.
                merchantOrders: { demo.ordersByKey.mapValues { ($0, nil) } },
                tearDown: {}
            )
        case .webhook:
            if unreachable {
                // A port that refuses connections throughout (a stopped receiver's port
                // could be taken by another test's server meanwhile and answer 404).
                let closed = try ClosedPort()
                return Harness(
                    backend: WebhookOrderBackend(merchant: merchant, url: "http://127.0.0.1:\(closed.port)/orders", secret: "unused-secret", timeout: .seconds(2)),
                    merchantOrders: { [:] },
                    tearDown: { withExtendedLifetime(closed) {} }
                )
            }
            let receiver = WebhookReceiver()
            try await receiver.start()
            if let reason { receiver.behave(.reject(status: 422, reason: reason)) }
            return Harness(
                backend: WebhookOrderBackend(merchant: merchant, url: receiver.url, secret: receiver.secret, timeout: .seconds(2)),
                merchantOrders: {
                    #expect(receiver.requests.allSatisfy { $0.signatureValid && $0.timestampFresh })
                    return receiver.orders.mapValues { ($0.reference, $0.body) }
                },
                tearDown: { await receiver.stop() }
            )
        case .postgres:
            let url = try #require(OrderBackendConformanceTests.postgresURL)
            let target = unreachable ? "postgres://nobody@127.0.0.1:1/none" : url
            let backend = try PostgresOrderBackend(merchant: merchant, url: target, timeout: .seconds(3))
            return Harness(
                backend: backend,
                merchantOrders: { try await PostgresMerchant.orders(url: url, merchant: merchant) },
                tearDown: {}
            )
        case .orderService:
            let registry = OrderServiceRegistry()
            let service = FakeOrderService(registry: registry, refusing: reason)
            if !unreachable { registry.add(service.handle, merchant: merchant) }
            return Harness(
                backend: OrderServiceBackend(merchant: merchant, registry: registry, visibilityTimeout: .seconds(5)),
                merchantOrders: { service.orders },
                tearDown: { registry.remove(service.handle.id) }
            )
        }
    }
}

/// An order service as a merchant would write one: keeps one order per idempotency key
/// and acknowledges every `order.requested` (also a redelivered one).
final class FakeOrderService: Sendable {
    private let state = NIOLockedValueBox<[String: Harness.Order]>([:])
    private let registry: OrderServiceRegistry
    private let reason: String?
    let handle: SessionHandle

    init(registry: OrderServiceRegistry, refusing reason: String?) {
        self.registry = registry
        self.reason = reason
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let slot = Slot()
        self.handle = SessionHandle(id: ObjectIdentifier(slot), eventLoop: loop) { message in
            // Answer asynchronously, as a remote service would.
            loop.execute { slot.service.withLockedValue { $0 }?.receive(message) }
            return loop.makeSucceededVoidFuture()
        }
        slot.service.withLockedValue { $0 = self }
    }

    private final class Slot: Sendable {
        let service = NIOLockedValueBox<FakeOrderService?>(nil)
    }

    var orders: [String: Harness.Order] { state.withLockedValue { $0 } }

    private func receive(_ message: ServerMessage) {
        guard case .push(.orderRequested, _, let body) = message, let delivery = body["delivery"]?.stringValue,
            let key = body["idempotency_key"]?.stringValue
        else { return }
        if let reason {
            _ = registry.acknowledge(delivery, by: handle.id, result: .rejected(reason: reason))
            return
        }
        let reference = state.withLockedValue { orders in
            if let known = orders[key] { return known.reference }
            let reference = "SVC-\(orders.count + 1)"
            orders[key] = (reference, body)
            return reference
        }
        _ = registry.acknowledge(delivery, by: handle.id, result: .confirmed(reference: reference))
    }
}

/// Reads the merchant's `hawker_orders` table the way the merchant would.
enum PostgresMerchant {
    static func orders(url: String, merchant: String) async throws -> [String: Harness.Order] {
        let components = try #require(URLComponents(string: url))
        let client = PostgresClient(
            configuration: .init(
                host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "postgres",
                password: components.password, database: String(components.path.dropFirst()), tls: .disable
            ))
        return try await withThrowingTaskGroup(of: [String: Harness.Order]?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            group.addTask {
                var orders: [String: Harness.Order] = [:]
                let rows = try await client.query(
                    """
                    SELECT idempotency_key, order_number, checkout_id, merchant, region, items::text, attribution::text, kind, seller, cost::text
                    FROM hawker_orders WHERE merchant = \(merchant)
                    """)
                for try await (key, number, checkoutID, merchant, region, items, attribution, kind, seller, cost) in rows.decode(
                    (String, Int64, String, String, String, String, String, String?, String?, String?).self)
                {
                    var body: [String: JSONValue] = [
                        "checkout_id": .string(checkoutID), "merchant": .string(merchant), "idempotency_key": .string(key), "region": .string(region),
                        "items": try JSONParser.parse(ByteBuffer(string: items)), "attribution": try JSONParser.parse(ByteBuffer(string: attribution)),
                    ]
                    if let kind { body["kind"] = .string(kind) }
                    if let seller { body["seller"] = .string(seller) }
                    if let cost { body["cost"] = try JSONParser.parse(ByteBuffer(string: cost)) }
                    orders[key] = ("PG-\(number)", body)
                }
                return orders
            }
            group.addTask {
                // Buyers' requests, in their own table (once one was delivered).
                var requests: [String: Harness.Order] = [:]
                let exists = try await client.query("SELECT to_regclass('hawker_order_requests') IS NOT NULL").decode(Bool.self)
                for try await present in exists where !present { return requests }
                let rows = try await client.query(
                    """
                    SELECT idempotency_key, request_number, checkout_id, merchant, request_id, kind, order_reference, items::text, reason
                    FROM hawker_order_requests WHERE merchant = \(merchant)
                    """)
                for try await (key, number, checkoutID, merchant, requestID, kind, reference, items, reason) in rows.decode(
                    (String, Int64, String, String, String, String, String?, String, String?).self)
                {
                    var body: [String: JSONValue] = [
                        "checkout_id": .string(checkoutID), "merchant": .string(merchant), "idempotency_key": .string(key), "request_id": .string(requestID),
                        "kind": .string("\(kind)_request"), "items": try JSONParser.parse(ByteBuffer(string: items)),
                    ]
                    if let reference { body["reference"] = .string(reference) }
                    if let reason { body["reason"] = .string(reason) }
                    requests[key] = ("PGR-\(number)", body)
                }
                return requests
            }
            var answer: [String: Harness.Order] = [:]
            // Both reads, then the client stops.
            var reads = 0
            for try await value in group {
                guard let value else { continue }
                answer.merge(value) { first, _ in first }
                reads += 1
                if reads == 2 { group.cancelAll() }
            }
            return answer
        }
    }
}
