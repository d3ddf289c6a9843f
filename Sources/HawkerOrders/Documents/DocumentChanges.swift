/// A page of `DocumentStore.changes`.
public struct DocumentChanges<Document: RevisionedDocument>: Sendable, Hashable {
    public var documents: [Document]
    /// The last revision read (whether or not it decoded); nil for an empty page.
    public var lastRevision: Int64?
    /// Rows read: fewer than the limit means the end.
    public var rows: Int
    /// Rows that did not decode (written by a newer version, or damaged).
    public var undecodable: Int { undecodableKeys.count }
    /// Their keys: what such a row replaced is no longer what is stored.
    public var undecodableKeys: [String]

    public init(documents: [Document], lastRevision: Int64?, rows: Int, undecodableKeys: [String] = []) {
        self.documents = documents
        self.lastRevision = lastRevision
        self.rows = rows
        self.undecodableKeys = undecodableKeys
    }

    /// Rows of (revision, key, document) read in revision order.
    static func decoding(_ rows: [(revision: Int64, key: String, document: String)]) -> DocumentChanges {
        var documents: [Document] = []
        var undecodable: [String] = []
        for row in rows {
            if let document = Document(revision: row.revision, document: row.document) { documents.append(document) } else { undecodable.append(row.key) }
        }
        return DocumentChanges(documents: documents, lastRevision: rows.last?.revision, rows: rows.count, undecodableKeys: undecodable)
    }
}
