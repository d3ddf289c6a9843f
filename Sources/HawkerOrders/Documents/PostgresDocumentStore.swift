import HawkerProtocol
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// A cluster's documents, in the shared outbox's PostgreSQL schema: a document saved
/// through one node reaches all of them (each reads the changes, as `AffiliateDirectory`).
///
/// Saves take a transaction-scoped advisory lock (the table's own), so that they commit in
/// the order of the revisions they take: a reader asking for the changes after revision n
/// cannot miss one that commits later with a smaller number.
///
/// The table's and key column's names go into the SQL unescaped: they come only from
/// `DocumentTable`, fixed values checked to be identifiers, never from input.
public final class PostgresDocumentStore<Document: RevisionedDocument>: DocumentStore, Service {
    private let client: PostgresClient
    private let schema: String
    private let table: DocumentTable
    private let logger: Logger
    private let migration: OnceUntilDone

    public init(url: String, schema: String = "hawker", table: DocumentTable, logger: Logger = Logger(label: "hawker.documents.postgres")) throws {
        guard PostgresOutbox.isIdentifier(schema) else {
            throw OrderBackendError(description: "orders.outbox_schema must be a lowercase SQL identifier (a-z, 0-9, _; at most 63), got '\(schema)'")
        }
        let configuration = try PostgresURL.configuration(url, setting: "orders.outbox_url", connectTimeout: .seconds(5), maximumConnections: 4)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.schema = schema
        self.table = table
        self.logger = logger
        self.migration = OnceUntilDone {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(table.migrationLock))", logger: logger)
                try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: logger)
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS \(unescaped: schema).\(unescaped: table.name) (
                        \(unescaped: table.keyColumn) text PRIMARY KEY,
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

    public func save(_ document: Document, replacing revision: Int64?) async throws -> Document? {
        try await migration.done()
        let s = schema
        let t = table.name
        let k = table.keyColumn
        let lock = table.saveLock
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection in
            // Saves one after another, each committed before the next takes a revision; read
            // committed whatever the server's default, so the next save sees the last one.
            try await connection.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", logger: logger)
            try await connection.query("SELECT pg_advisory_xact_lock(\(lock))", logger: logger)
            var current: Int64?
            for try await stored in try await connection.query(
                "SELECT revision FROM \(unescaped: s).\(unescaped: t) WHERE \(unescaped: k) = \(document.key)", logger: logger
            ).decode(Int64.self) {
                current = stored
            }
            guard current == revision else { return nil }
            var next: Int64 = 1
            for try await largest in try await connection.query("SELECT coalesce(max(revision), 0) FROM \(unescaped: s).\(unescaped: t)", logger: logger)
                .decode(Int64.self)
            {
                next = largest + 1
            }
            var saved = document
            saved.revision = next
            let text = String(buffer: JSONText.encode(saved.json))
            try await connection.query(
                """
                INSERT INTO \(unescaped: s).\(unescaped: t) (\(unescaped: k), revision, document) VALUES (\(saved.key), \(next), \(text))
                ON CONFLICT (\(unescaped: k)) DO UPDATE SET revision = excluded.revision, document = excluded.document
                """, logger: logger)
            return saved
        }
    }

    public func stored(_ key: String) async throws -> (revision: Int64, document: Document?)? {
        try await migration.done()
        let rows = try await client.query(
            "SELECT revision, document FROM \(unescaped: schema).\(unescaped: table.name) WHERE \(unescaped: table.keyColumn) = \(key)", logger: logger)
        for try await (revision, document) in rows.decode((Int64, String).self) { return (revision, Document(revision: revision, document: document)) }
        return nil
    }

    public func changes(after revision: Int64, limit: Int) async throws -> DocumentChanges<Document> {
        try await migration.done()
        let rows = try await client.query(
            """
            SELECT revision, \(unescaped: table.keyColumn), document FROM \(unescaped: schema).\(unescaped: table.name)
            WHERE revision > \(revision) ORDER BY revision LIMIT \(max(0, limit))
            """, logger: logger)
        var read: [(revision: Int64, key: String, document: String)] = []
        for try await (revision, key, document) in rows.decode((Int64, String, String).self) { read.append((revision, key, document)) }
        return .decoding(read)
    }
}
