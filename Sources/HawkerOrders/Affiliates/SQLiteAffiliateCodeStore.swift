import GRDB
import HawkerProtocol
import NIOCore

/// A single gateway's codes, in a table of the outbox's SQLite file (its own migrations):
/// backed up with the orders that name them.
public final class SQLiteAffiliateCodeStore: AffiliateCodeStore {
    private let pool: DatabasePool

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        configuration.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("affiliates v1: codes") { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS affiliate_code (
                        code TEXT PRIMARY KEY,
                        revision INTEGER NOT NULL UNIQUE,
                        document TEXT NOT NULL
                    )
                    """)
        }
        try migrator.migrate(pool)
    }

    public func save(_ code: AffiliateCode, replacing revision: Int64?) async throws -> AffiliateCode? {
        try await pool.write { db in
            let current = try Int64.fetchOne(db, sql: "SELECT revision FROM affiliate_code WHERE code = ?", arguments: [code.code])
            guard current == revision else { return nil }
            // One writer at a time: the next revision is the largest plus one.
            var saved = code
            saved.revision = (try Int64.fetchOne(db, sql: "SELECT max(revision) FROM affiliate_code") ?? 0) + 1
            try db.execute(
                sql: "INSERT INTO affiliate_code (code, revision, document) VALUES (?, ?, ?) ON CONFLICT (code) DO UPDATE SET revision = excluded.revision, document = excluded.document",
                arguments: [saved.code, saved.revision, String(buffer: JSONText.encode(saved.json))])
            return saved
        }
    }

    public func code(_ name: String) async throws -> AffiliateCode? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT revision, document FROM affiliate_code WHERE code = ?", arguments: [name]).flatMap {
                AffiliateCode(revision: $0["revision"], document: $0["document"])
            }
        }
    }

    public func changes(after revision: Int64, limit: Int) async throws -> AffiliateCodeChanges {
        try await pool.read { db in
            .decoding(
                try Row.fetchAll(
                    db, sql: "SELECT revision, document FROM affiliate_code WHERE revision > ? ORDER BY revision LIMIT ?", arguments: [revision, max(0, limit)]
                ).map { (revision: $0["revision"], document: $0["document"]) })
        }
    }
}
