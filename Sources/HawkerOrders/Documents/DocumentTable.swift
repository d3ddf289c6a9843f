/// Where one kind of document is stored: the same table in SQLite and PostgreSQL, `name
/// (<keyColumn> text PRIMARY KEY, revision UNIQUE, document text)`.
///
/// Only this module makes them, from fixed values: their names go into SQL as they are,
/// and their advisory locks must not collide with another table's.
public struct DocumentTable: Sendable, Hashable {
    /// A lowercase SQL identifier.
    public let name: String
    /// The key's column (a lowercase SQL identifier): `RevisionedDocument.key`.
    public let keyColumn: String
    /// GRDB's name for the migration that creates the table in a SQLite file.
    public let migrationName: String
    /// PostgreSQL advisory locks: the one nodes take to create the table together, and
    /// the one saves take to commit in revision order.
    public let migrationLock: Int64
    public let saveLock: Int64

    init(name: String, keyColumn: String, migrationName: String, migrationLock: Int64, saveLock: Int64) {
        precondition(PostgresOutbox.isIdentifier(name), "table name '\(name)' is not a lowercase SQL identifier")
        precondition(
            PostgresOutbox.isIdentifier(keyColumn) && keyColumn != "revision" && keyColumn != "document",
            "key column '\(keyColumn)' is not a lowercase SQL identifier of its own")
        precondition(migrationLock != saveLock, "table \(name) takes the same advisory lock to migrate and to save")
        self.name = name
        self.keyColumn = keyColumn
        self.migrationName = migrationName
        self.migrationLock = migrationLock
        self.saveLock = saveLock
    }

    /// Influencer codes (`AffiliateCode`). The names and locks are those of the databases
    /// written before the store was generic: they must stay as they are.
    public static let affiliateCodes = DocumentTable(
        name: "affiliate_code", keyColumn: "code", migrationName: "affiliates v1: codes", migrationLock: 7_241_500, saveLock: 7_241_501)

    /// Merchants' profiles.
    public static let merchants = DocumentTable(name: "merchant", keyColumn: "id", migrationName: "merchants v1", migrationLock: 7_241_510, saveLock: 7_241_511)
}
