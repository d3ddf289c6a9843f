import Foundation
import GRDB
import HawkerCommerce
import HawkerProtocol
import Logging
import PostgresNIO
import Testing

@_spi(Fuzzing) @testable import HawkerOrders

/// Outboxes written before suppliers (deliveries keyed by checkout and merchant) keep
/// their orders when a gateway with a delivery per party opens them.
@Suite struct OutboxMigrationTests {
    private let shop = StreamID("shop")!

    private func dropship(_ id: String) -> Reservation {
        var reservation = outboxReservation(id, merchants: ["s1"], at: 2_000)
        reservation.lines[0].supplier = Supplier(merchant: "d1", price: 50)
        return reservation
    }

    @Test func aSQLiteOutboxFromBeforeSuppliersKeepsItsDeliveries() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-outbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("outbox.sqlite").path
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteOutbox.migrator.migrate(queue, upTo: "v5: cancellations and returns")
            try await queue.write { db in
                try db.execute(
                    sql: "INSERT INTO checkout (id, stream, buyer, idempotency_key, reservation, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: ["c1", "shop", "buyer-c1", "key-c1", OutboxCoding.encodeCheckout(outboxReservation("c1"), trace: [:]), 1_000])
                try db.execute(
                    sql: "INSERT INTO delivery (checkout_id, merchant, status, attempts, next_attempt_at, updated_at) VALUES ('c1', 'm1', 'pending', 2, 1500, 1000)")
            }
        }
        let outbox = try SQLiteOutbox(path: path)
        let due = try await outbox.due(now: 2_000, limit: 10)
        #expect(due.map(\.idempotencyKey) == ["c1:m1"])
        #expect(due.first?.attempts == 2)
        #expect(due.first?.isShipment == false)
        try await outbox.append(dropship("c2"), stream: shop)
        #expect(Set(try await outbox.deliveries(of: "c2").map(\.idempotencyKey)) == ["c2:s1", "c2:d1/for/s1"])
    }

    @Test(.enabled(if: OutboxConformanceTests.postgresURL != nil, "needs HAWKER_TEST_POSTGRES_URL"))
    func aPostgresOutboxFromBeforeSuppliersKeepsItsDeliveries() async throws {
        let url = try #require(OutboxConformanceTests.postgresURL)
        let schema = "outbox_old_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let components = try #require(URLComponents(string: url))
        let client = PostgresClient(
            configuration: .init(
                host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "postgres",
                password: components.password, database: String(components.path.dropFirst()), tls: .disable))
        var logger = Logger(label: "hawker.test.outbox")
        logger.logLevel = .warning
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            // The tables as the version before suppliers made them, with one order.
            try await client.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"))
            try await client.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE TABLE \(schema).checkout (id text PRIMARY KEY, stream text NOT NULL, buyer text NOT NULL, idempotency_key text NOT NULL,
                            reservation text NOT NULL, created_at bigint NOT NULL, UNIQUE (buyer, idempotency_key))
                        """))
            try await client.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE TABLE \(schema).delivery (checkout_id text NOT NULL REFERENCES \(schema).checkout(id), merchant text NOT NULL,
                            status text NOT NULL DEFAULT 'pending', attempts integer NOT NULL DEFAULT 0, next_attempt_at bigint NOT NULL, last_error text,
                            reference text, updated_at bigint NOT NULL, redriven_at bigint, claimed_until bigint, claimed_by text,
                            PRIMARY KEY (checkout_id, merchant))
                        """))
            let document = OutboxCoding.encodeCheckout(outboxReservation("c1"), trace: [:])
            try await client.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(schema).checkout VALUES ('c1', 'shop', 'buyer-c1', 'key-c1', $1, 1000);
                        """,
                    binds: {
                        var binds = PostgresBindings()
                        binds.append(document)
                        return binds
                    }()))
            try await client.query(
                PostgresQuery(unsafeSQL: "INSERT INTO \(schema).delivery (checkout_id, merchant, next_attempt_at, updated_at) VALUES ('c1', 'm1', 1000, 1000)"))

            let outbox = try PostgresOutbox(url: url, schema: schema, maximumConnections: 2, logger: logger)
            group.addTask { try await outbox.run() }
            #expect(try await outbox.due(now: 2_000, limit: 10).map(\.idempotencyKey) == ["c1:m1"])
            try await outbox.append(dropship("c2"), stream: shop)
            #expect(Set(try await outbox.deliveries(of: "c2").map(\.idempotencyKey)) == ["c2:s1", "c2:d1/for/s1"])
            // A second start finds the key migrated and changes nothing.
            let again = try PostgresOutbox(url: url, schema: schema, maximumConnections: 1, logger: logger)
            group.addTask { try await again.run() }
            #expect(try await again.deliveries(of: "c1").map(\.idempotencyKey) == ["c1:m1"])
            group.cancelAll()
        }
    }
}
