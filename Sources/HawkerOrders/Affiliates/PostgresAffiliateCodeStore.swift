import HawkerProtocol
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// A cluster's codes, in the shared outbox's PostgreSQL schema: a code registered through
/// one node is credited by all of them (each reads the changes, `AffiliateDirectory`).
///
/// Saves take a transaction-scoped advisory lock, so that they commit in the order of the
/// revisions they take: a reader asking for the changes after revision n cannot miss one
/// that commits later with a smaller number.
public final class PostgresAffiliateCodeStore: AffiliateCodeStore, Service {
    private let client: PostgresClient
    private let schema: String
    private let logger: Logger
    private let migration: OnceUntilDone

    public init(url: String, schema: String = "hawker", logger: Logger = Logger(label: "hawker.affiliates.postgres")) throws {
        guard PostgresOutbox.isIdentifier(schema) else {
            throw OrderBackendError(description: "orders.outbox_schema must be a lowercase SQL identifier (a-z, 0-9, _; at most 63), got '\(schema)'")
        }
        let configuration = try PostgresURL.configuration(url, setting: "orders.outbox_url", connectTimeout: .seconds(5), maximumConnections: 4)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.schema = schema
        self.logger = logger
        self.migration = OnceUntilDone {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(7241500)", logger: logger)
                try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: logger)
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS \(unescaped: schema).affiliate_code (
                        code text PRIMARY KEY,
                        revision bigint NOT NULL UNIQUE,
                        document text NOT NULL
                    )
                    """, logger: logger)
            }
        }
    }

    /// Runs the connection pool until shutdown; queries wait for it.
    public func run() async throws {
        await client.run()
    }

    public func save(_ code: AffiliateCode, replacing revision: Int64?) async throws -> AffiliateCode? {
        try await migration.done()
        let s = schema
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection in
            // Saves one after another, each committed before the next takes a revision; read
            // committed whatever the server's default, so the next save sees the last one.
            try await connection.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", logger: logger)
            try await connection.query("SELECT pg_advisory_xact_lock(7241501)", logger: logger)
            var current: Int64?
            for try await stored in try await connection.query("SELECT revision FROM \(unescaped: s).affiliate_code WHERE code = \(code.code)", logger: logger)
                .decode(Int64.self)
            {
                current = stored
            }
            guard current == revision else { return nil }
            var next: Int64 = 1
            for try await largest in try await connection.query("SELECT coalesce(max(revision), 0) FROM \(unescaped: s).affiliate_code", logger: logger)
                .decode(Int64.self)
            {
                next = largest + 1
            }
            var saved = code
            saved.revision = next
            let document = String(buffer: JSONText.encode(saved.json))
            try await connection.query(
                """
                INSERT INTO \(unescaped: s).affiliate_code (code, revision, document) VALUES (\(saved.code), \(next), \(document))
                ON CONFLICT (code) DO UPDATE SET revision = excluded.revision, document = excluded.document
                """, logger: logger)
            return saved
        }
    }

    public func code(_ name: String) async throws -> AffiliateCode? {
        try await migration.done()
        let rows = try await client.query("SELECT revision, document FROM \(unescaped: schema).affiliate_code WHERE code = \(name)", logger: logger)
        for try await (revision, document) in rows.decode((Int64, String).self) { return AffiliateCode(revision: revision, document: document) }
        return nil
    }

    public func changes(after revision: Int64, limit: Int) async throws -> AffiliateCodeChanges {
        try await migration.done()
        let rows = try await client.query(
            "SELECT revision, document FROM \(unescaped: schema).affiliate_code WHERE revision > \(revision) ORDER BY revision LIMIT \(max(0, limit))",
            logger: logger)
        var read: [(revision: Int64, document: String)] = []
        for try await (revision, document) in rows.decode((Int64, String).self) { read.append((revision, document)) }
        return .decoding(read)
    }
}
