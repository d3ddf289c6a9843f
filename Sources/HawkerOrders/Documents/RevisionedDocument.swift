import HawkerProtocol

/// A document a `DocumentStore` keeps (an affiliate code, a merchant's profile): a JSON
/// document under a key, with the store's revision beside it.
///
/// The revision is what makes the stores work: a save is compare-and-set on the revision
/// the writer read (so two writers do not overwrite each other unseen), and saves become
/// visible in revision order, so a reader asking for the changes after the last revision
/// it saw misses none.
public protocol RevisionedDocument: Sendable, Hashable {
    /// The row's key: unique per document, stable across its revisions.
    var key: String { get }
    /// The store's order of changes: each save takes the next one (0 until saved).
    var revision: Int64 { get set }
    /// The stored form.
    var json: JSONValue { get }

    /// A stored row: the document, with the revision its column holds; nil when the
    /// document does not read (written by a newer version, or damaged).
    init?(revision: Int64, document: String)
}
