import Foundation
import HawkerProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// Writes orders into a merchant's PostgreSQL: a `hawker_orders` table (created by the
/// backend's migration when missing), one row per idempotency key. A redelivery finds
/// the row and returns its reference; the first insert wins.
public final class PostgresOrderBackend: OrderBackend {
    public let name: String
    private let client: PostgresClient
    private let timeout: Duration
    /// The migration, run once before the first order (and again after it failed).
    private let migration: OnceUntilDone

    /// The requests table's migration, run before the first buyer's request.
    private let requestsMigration: OnceUntilDone

    public var service: (any Service)? { client }

    /// Buyers' cancel and return requests: one row per idempotency key, in a table of
    /// their own (created before the first one).
    public static let requestsMigrationSQL: PostgresQuery = """
        CREATE TABLE IF NOT EXISTS hawker_order_requests (
            request_number bigserial UNIQUE,
            idempotency_key text PRIMARY KEY,
            checkout_id text NOT NULL,
            merchant text NOT NULL,
            request_id text NOT NULL,
            kind text NOT NULL,
            order_reference text,
            buyer text NOT NULL,
            items jsonb NOT NULL,
            reason text,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """

    public static let migrationSQL: PostgresQuery = """
        CREATE TABLE IF NOT EXISTS hawker_orders (
            order_number bigserial UNIQUE,
            idempotency_key text PRIMARY KEY,
            checkout_id text NOT NULL,
            merchant text NOT NULL,
            stream text NOT NULL,
            buyer text NOT NULL,
            region text NOT NULL,
            items jsonb NOT NULL,
            attribution jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """

    /// - Parameters:
    ///   - url: `postgres://user[:password]@host[:port]/database` (`?sslmode=require` for TLS).
    /// Columns added after the first table, with their types.
    static let addedColumns = [("ship_to", "jsonb"), ("charges", "jsonb"), ("kind", "text"), ("seller", "text"), ("cost", "jsonb")]

    public init(merchant: String, url: String, timeout: Duration = .seconds(5), logger: Logger = Logger(label: "hawker.orders.postgres")) throws {
        let configuration = try PostgresURL.configuration(
            url, setting: "merchants.\(merchant).postgres_url", connectTimeout: timeout, maximumConnections: 8)
        self.name = "postgres:\(merchant)"
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.migration = OnceUntilDone {
            _ = try await client.query(Self.migrationSQL)
            // Tables made before quotes gain where it ships and what was charged. Asked
            // first: ALTER TABLE needs the table's owner even when the column is there, and
            // the gateway's role may only insert and select.
            var present: Set<String> = []
            let columns = try await client.query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'hawker_orders' AND table_schema = ANY(current_schemas(false))")
            for try await column in columns.decode(String.self) { present.insert(column) }
            // And, with suppliers, what an order is: a sale, or a shipment for a seller.
            for (column, type) in Self.addedColumns where !present.contains(column) {
                _ = try await client.query(PostgresQuery(unsafeSQL: "ALTER TABLE hawker_orders ADD COLUMN IF NOT EXISTS \(column) \(type)"))
            }
        }
        self.requestsMigration = OnceUntilDone { _ = try await client.query(Self.requestsMigrationSQL) }
        self.timeout = timeout
    }

    /// Throws when `url` is no PostgreSQL URL this backend could use (nothing is connected).
    public static func check(url: String) throws {
        _ = try PostgresURL.configuration(url, setting: "backend.postgres_url", connectTimeout: .seconds(5), maximumConnections: 8)
    }

    public func deliver(_ delivery: OutboxDelivery) async -> BackendResult {
        do {
            let reference = try await Self.withTimeout(timeout) { try await self.insert(delivery) }
            return .confirmed(reference: reference)
        } catch {
            return .unavailable(error: String(reflecting: error).prefix(300).description)
        }
    }

    private func insert(_ delivery: OutboxDelivery) async throws -> String {
        if let request = delivery.request { return try await insert(request, of: delivery) }
        try await migrated()
        let payload = delivery.payload
        let items = String(buffer: JSONText.encode(payload["items"] ?? .array([])))
        let attribution = String(buffer: JSONText.encode(payload["attribution"] ?? .object([:])))
        let shipTo = payload["ship_to"].map { String(buffer: JSONText.encode($0)) }
        let charges = payload["charges"].map { String(buffer: JSONText.encode($0)) }
        let cost = payload["cost"].map { String(buffer: JSONText.encode($0)) }
        let kind = delivery.isShipment ? "shipment" : "sale"
        let key = delivery.idempotencyKey
        let inserted = try await client.query(
            """
            INSERT INTO hawker_orders (idempotency_key, checkout_id, merchant, stream, buyer, region, items, attribution, ship_to, charges, kind, seller, cost)
            VALUES (\(key), \(delivery.checkoutID), \(delivery.merchant), \(delivery.stream.rawValue), \(delivery.buyer), \(delivery.region), \(items)::jsonb,
                \(attribution)::jsonb, \(shipTo)::jsonb, \(charges)::jsonb, \(kind), \(delivery.seller), \(cost)::jsonb)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING order_number
            """)
        for try await number in inserted.decode(Int64.self) { return "PG-\(number)" }
        // Delivered before: the first insert's number.
        for try await number in try await client.query("SELECT order_number FROM hawker_orders WHERE idempotency_key = \(key)").decode(Int64.self) {
            return "PG-\(number)"
        }
        throw OrderBackendError(description: "order \(key) vanished between insert and select")
    }

    /// A buyer's request: the merchant's own number for it is `PGR-<request_number>`.
    private func insert(_ request: BuyerRequest, of delivery: OutboxDelivery) async throws -> String {
        try await requestsMigration.done()
        let payload = delivery.payload
        let items = String(buffer: JSONText.encode(payload["items"] ?? .array([])))
        let key = delivery.idempotencyKey
        let inserted = try await client.query(
            """
            INSERT INTO hawker_order_requests (idempotency_key, checkout_id, merchant, request_id, kind, order_reference, buyer, items, reason)
            VALUES (\(key), \(delivery.checkoutID), \(delivery.merchant), \(request.id), \(request.kind.rawValue), \(delivery.reference), \(delivery.buyer),
                \(items)::jsonb, \(request.reason))
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING request_number
            """)
        for try await number in inserted.decode(Int64.self) { return "PGR-\(number)" }
        for try await number in try await client.query("SELECT request_number FROM hawker_order_requests WHERE idempotency_key = \(key)").decode(Int64.self) {
            return "PGR-\(number)"
        }
        throw OrderBackendError(description: "request \(key) vanished between insert and select")
    }

    private func migrated() async throws {
        try await migration.done()
    }

    /// Runs `work`, or throws once `timeout` passed, without waiting for `work` to
    /// notice its cancellation (a pool waiting for a dead server can take its time).
    static func withTimeout<T: Sendable>(_ timeout: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let finished = NIOLockedValueBox(false)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            @Sendable func finish(_ result: Result<T, any Error>) {
                let first = finished.withLockedValue { done in
                    defer { done = true }
                    return !done
                }
                if first { continuation.resume(with: result) }
            }
            let task = Task {
                do { finish(.success(try await work())) } catch { finish(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: timeout)
                task.cancel()
                finish(.failure(OrderBackendError(description: "no answer within \(timeout)")))
            }
        }
    }
}
