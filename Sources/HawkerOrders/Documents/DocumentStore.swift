/// Where revisioned documents are kept: beside the outbox (`SQLiteDocumentStore` in its
/// file, `PostgresDocumentStore` in a cluster's shared database), so that they survive
/// restarts and, shared, reach every node. Both pass `DocumentStoreConformanceTests`.
///
/// Every save takes the next revision, and saves become visible in revision order, so a
/// reader that asks for the changes after the last revision it saw misses none.
public protocol DocumentStore<Document>: Sendable {
    associatedtype Document: RevisionedDocument

    /// Saves `document` if the stored one is still at `replacing` (nil: there must be
    /// none): returns it as stored, with its revision; nil when somebody saved it meanwhile.
    func save(_ document: Document, replacing revision: Int64?) async throws -> Document?

    /// The stored row, by key: its revision, and its document unless it does not read
    /// (written by a newer version, or damaged: a save may still replace it by revision).
    func stored(_ key: String) async throws -> (revision: Int64, document: Document?)?

    /// Documents saved after `revision`, in revision order: at most `limit` rows read,
    /// those that do not decode left out (and counted) but passed, so a reader moves on.
    func changes(after revision: Int64, limit: Int) async throws -> DocumentChanges<Document>
}

extension DocumentStore {
    /// The stored document, by key; nil when there is none or it does not read.
    public func document(_ key: String) async throws -> Document? {
        try await stored(key)?.document
    }
}
