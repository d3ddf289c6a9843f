import GRDB
import HawkerProtocol
import NIOCore

/// A single gateway's documents, in a table of the outbox's SQLite file (its own
/// migrations): backed up with the orders that name them.
///
/// The table's and key column's names are interpolated into the SQL: they come only from
/// `DocumentTable`, fixed values checked to be identifiers, never from input.
public final class SQLiteDocumentStore<Document: RevisionedDocument>: DocumentStore {
    private let pool: DatabasePool
    private let table: DocumentTable

    public init(path: String, table: DocumentTable) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        // The outbox and the other document tables share the file: wait for their writes.
        configuration.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: configuration)
        self.table = table
        var migrator = DatabaseMigrator()
        migrator.registerMigration(table.migrationName) { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS \(table.name) (
                        \(table.keyColumn) TEXT PRIMARY KEY,
                        revision INTEGER NOT NULL UNIQUE,
                        document TEXT NOT NULL
                    )
                    """)
        }
        try migrator.migrate(pool)
    }

    public func save(_ document: Document, replacing revision: Int64?) async throws -> Document? {
        let table = self.table
        return try await pool.write { db in
            let current = try Int64.fetchOne(
                db, sql: "SELECT revision FROM \(table.name) WHERE \(table.keyColumn) = ?", arguments: [document.key])
            guard current == revision else { return nil }
            // One writer at a time: the next revision is the largest plus one.
            var saved = document
            saved.revision = (try Int64.fetchOne(db, sql: "SELECT max(revision) FROM \(table.name)") ?? 0) + 1
            try db.execute(
                sql: """
                    INSERT INTO \(table.name) (\(table.keyColumn), revision, document) VALUES (?, ?, ?)
                    ON CONFLICT (\(table.keyColumn)) DO UPDATE SET revision = excluded.revision, document = excluded.document
                    """,
                arguments: [saved.key, saved.revision, String(buffer: JSONText.encode(saved.json))])
            return saved
        }
    }

    public func stored(_ key: String) async throws -> (revision: Int64, document: Document?)? {
        let table = self.table
        return try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT revision, document FROM \(table.name) WHERE \(table.keyColumn) = ?", arguments: [key]).map {
                ($0["revision"], Document(revision: $0["revision"], document: $0["document"]))
            }
        }
    }

    public func changes(after revision: Int64, limit: Int) async throws -> DocumentChanges<Document> {
        let table = self.table
        return try await pool.read { db in
            .decoding(
                try Row.fetchAll(
                    db, sql: "SELECT revision, \(table.keyColumn) AS key, document FROM \(table.name) WHERE revision > ? ORDER BY revision LIMIT ?",
                    arguments: [revision, max(0, limit)]
                ).map { (revision: $0["revision"], key: $0["key"], document: $0["document"]) })
        }
    }
}
