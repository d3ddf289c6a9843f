/// Where registered codes are kept: beside the outbox (`SQLiteAffiliateCodeStore` in its
/// file, `PostgresAffiliateCodeStore` in a cluster's shared database), so that they
/// survive restarts and, shared, reach every node. Both pass
/// `AffiliateCodeStoreConformanceTests`.
///
/// Every save takes the next revision, and saves become visible in revision order, so a
/// reader that asks for the changes after the last revision it saw misses none.
public protocol AffiliateCodeStore: Sendable {
    /// Saves `code` if the stored one is still at `replacing` (nil: there must be none):
    /// returns it as stored, with its revision; nil when somebody saved it meanwhile.
    func save(_ code: AffiliateCode, replacing revision: Int64?) async throws -> AffiliateCode?

    /// The stored code, by canonical name.
    func code(_ name: String) async throws -> AffiliateCode?

    /// Codes saved after `revision`, in revision order: at most `limit` rows read, those
    /// that do not decode left out (and counted) but passed, so a reader moves on.
    func changes(after revision: Int64, limit: Int) async throws -> AffiliateCodeChanges
}

/// A page of `AffiliateCodeStore.changes`.
public struct AffiliateCodeChanges: Sendable, Hashable {
    public var codes: [AffiliateCode]
    /// The last revision read (whether or not it decoded); nil for an empty page.
    public var lastRevision: Int64?
    /// Rows read: fewer than the limit means the end.
    public var rows: Int
    /// Rows that did not decode (written by a newer version, or damaged).
    public var undecodable: Int

    public init(codes: [AffiliateCode], lastRevision: Int64?, rows: Int, undecodable: Int) {
        self.codes = codes
        self.lastRevision = lastRevision
        self.rows = rows
        self.undecodable = undecodable
    }

    /// Rows of (revision, document) read in revision order.
    static func decoding(_ rows: [(revision: Int64, document: String)]) -> AffiliateCodeChanges {
        let codes = rows.compactMap { AffiliateCode(revision: $0.revision, document: $0.document) }
        return AffiliateCodeChanges(codes: codes, lastRevision: rows.last?.revision, rows: rows.count, undecodable: rows.count - codes.count)
    }
}
