/// A page of `DocumentStore.changes`.
public struct DocumentChanges<Document: RevisionedDocument>: Sendable, Hashable {
    public var documents: [Document]
    /// The last revision read (whether or not it decoded); nil for an empty page.
    public var lastRevision: Int64?
    /// Rows read: fewer than the limit means the end.
    public var rows: Int
    /// Rows that did not decode (written by a newer version, or damaged).
    public var undecodable: Int

    public init(documents: [Document], lastRevision: Int64?, rows: Int, undecodable: Int) {
        self.documents = documents
        self.lastRevision = lastRevision
        self.rows = rows
        self.undecodable = undecodable
    }

    /// Rows of (revision, document) read in revision order.
    static func decoding(_ rows: [(revision: Int64, document: String)]) -> DocumentChanges {
        let documents = rows.compactMap { Document(revision: $0.revision, document: $0.document) }
        return DocumentChanges(documents: documents, lastRevision: rows.last?.revision, rows: rows.count, undecodable: rows.count - documents.count)
    }
}
