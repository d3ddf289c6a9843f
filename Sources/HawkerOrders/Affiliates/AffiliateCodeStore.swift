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

    /// Codes saved after `revision`, in revision order, at most `limit`.
    func changes(after revision: Int64, limit: Int) async throws -> [AffiliateCode]
}
