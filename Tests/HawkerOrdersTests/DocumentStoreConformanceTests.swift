import Foundation
import HawkerOrders
import Logging
import Testing

/// What every `DocumentStore` does, run against each: the SQLite file of a single gateway
/// (the outbox's, with the outbox in it too) and a cluster's PostgreSQL (when
/// HAWKER_TEST_POSTGRES_URL names a server). "Another instance" is a reopened file for
/// SQLite and another node's client for PostgreSQL. The documents are affiliate codes:
/// what the stores do does not depend on the kind.
@Suite struct DocumentStoreConformanceTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case sqlite, postgres
        var testDescription: String { rawValue }
    }

    static let postgresURL = ProcessInfo.processInfo.environment["HAWKER_TEST_POSTGRES_URL"]
    static let kinds: [Kind] = Kind.allCases.filter { $0 != .postgres || postgresURL != nil }

    /// Runs `body` with a way to open instances of one fresh store of `kind`, keeping
    /// `Document`s in `table`.
    private func withStore<Document: RevisionedDocument, T: Sendable>(
        _ kind: Kind, of _: Document.Type, in table: DocumentTable, _ body: (_ open: () throws -> any DocumentStore<Document>) async throws -> T
    ) async throws -> T {
        switch kind {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-documents-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("orders.sqlite").path
            // The outbox shares the file: both sets of migrations live in it.
            _ = try SQLiteOutbox(path: path)
            return try await body { try SQLiteDocumentStore<Document>(path: path, table: table) }
        case .postgres:
            let url = try #require(Self.postgresURL)
            let schema = "documents_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            return try await withThrowingTaskGroup(of: Void.self) { group in
                let result = try await body {
                    var logger = Logger(label: "hawker.test.documents")
                    logger.logLevel = .warning
                    let store = try PostgresDocumentStore<Document>(url: url, schema: schema, table: table, logger: logger)
                    group.addTask { try await store.run() }
                    return store
                }
                group.cancelAll()
                return result
            }
        }
    }

    /// A fresh store of affiliate codes.
    private func withCodes<T: Sendable>(_ kind: Kind, _ body: (_ open: () throws -> any DocumentStore<AffiliateCode>) async throws -> T) async throws -> T {
        try await withStore(kind, of: AffiliateCode.self, in: .affiliateCodes, body)
    }

    private func code(_ name: String, owner: String = "anna", rate: Int64 = 1_000) -> AffiliateCode {
        AffiliateCode(
            code: name, owner: owner, commissionBasisPoints: rate, streams: ["shop"], merchants: ["m1", "m2"], hostDefault: true,
            validFrom: 10, validUntil: 2_000_000_000_000, registrar: "merchant:m1", createdAt: 5, updatedAt: 6)
    }

    @Test(arguments: kinds) func aSavedCodeReadsBackWholeFromAnotherInstance(_ kind: Kind) async throws {
        try await withCodes(kind) { open in
            let store = try open()
            let saved = try #require(try await store.save(code("ANNA10"), replacing: nil))
            #expect(saved.revision > 0)
            var expected = code("ANNA10")
            expected.revision = saved.revision
            #expect(saved == expected)
            #expect(try await open().document("ANNA10") == expected)
            #expect(try await store.document("NOPE") == nil)
        }
    }

    @Test(arguments: kinds) func aSaveOnlyReplacesTheRevisionItRead(_ kind: Kind) async throws {
        try await withCodes(kind) { open in
            let store = try open()
            let first = try #require(try await store.save(code("ANNA10"), replacing: nil))
            // Creating it again, or replacing a revision that is gone, changes nothing.
            #expect(try await store.save(code("ANNA10", rate: 5), replacing: nil) == nil)
            #expect(try await store.save(code("ANNA10", rate: 5), replacing: first.revision + 7) == nil)
            let second = try #require(try await open().save(code("ANNA10", rate: 2_000), replacing: first.revision))
            #expect(second.revision > first.revision)
            #expect(try await store.document("ANNA10")?.commissionBasisPoints == 2_000)
            // The first reader's revision is stale now.
            #expect(try await store.save(code("ANNA10", rate: 1), replacing: first.revision) == nil)
        }
    }

    @Test(arguments: kinds) func changesComeInRevisionOrderAfterTheOneAsked(_ kind: Kind) async throws {
        try await withCodes(kind) { open in
            let store = try open()
            let a = try #require(try await store.save(code("AAA"), replacing: nil))
            let b = try #require(try await store.save(code("BBB"), replacing: nil))
            let a2 = try #require(try await store.save(code("AAA", rate: 3), replacing: a.revision))
            let all = try await open().changes(after: 0, limit: 100).documents
            // A document changed twice is there once, at its latest revision.
            #expect(all.map(\.code) == ["BBB", "AAA"])
            #expect(all.map(\.revision) == [b.revision, a2.revision])
            #expect(try await store.changes(after: b.revision, limit: 100).documents.map(\.code) == ["AAA"])
            #expect(try await store.changes(after: a2.revision, limit: 100).rows == 0)
            #expect(try await store.changes(after: 0, limit: 1).documents.map(\.code) == ["BBB"])
        }
    }

    /// A row that does not decode (here a code no version reads: too short) is left out
    /// of the documents but counted and passed, so a reader paging by revision moves on.
    @Test(arguments: kinds) func undecodableRowsArePassedOver(_ kind: Kind) async throws {
        try await withCodes(kind) { open in
            let store = try open()
            let a = try #require(try await store.save(code("AAA"), replacing: nil))
            let bad = try #require(try await store.save(code("x"), replacing: nil))
            let b = try #require(try await store.save(code("BBB"), replacing: nil))
            #expect(try await store.document("x") == nil)
            let all = try await open().changes(after: 0, limit: 100)
            #expect(all.documents.map(\.code) == ["AAA", "BBB"])
            #expect(all.rows == 3)
            #expect(all.undecodable == 1)
            #expect(all.lastRevision == b.revision)
            let first = try await store.changes(after: 0, limit: 2)
            #expect(first.documents.map(\.revision) == [a.revision])
            #expect(first.rows == 2)
            #expect(first.undecodable == 1)
            #expect(first.lastRevision == bad.revision)
            #expect(try await store.changes(after: bad.revision, limit: 2).documents.map(\.code) == ["BBB"])
        }
    }

    /// Concurrent saves from two instances take distinct revisions, and a reader paging
    /// by revision sees every document.
    @Test(arguments: kinds) func concurrentSavesAllArriveInTheChanges(_ kind: Kind) async throws {
        try await withCodes(kind) { open in
            let one = try open()
            let two = try open()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    let store = index.isMultiple(of: 2) ? one : two
                    let name = "CODE\(index)"
                    group.addTask { _ = try await store.save(AffiliateCode(code: name, owner: "o", commissionBasisPoints: 1), replacing: nil) }
                }
                try await group.waitForAll()
            }
            var seen: [AffiliateCode] = []
            var after: Int64 = 0
            while true {
                let page = try await one.changes(after: after, limit: 3)
                guard let last = page.lastRevision else { break }
                seen += page.documents
                after = last
            }
            #expect(Set(seen.map(\.code)).count == 20)
            #expect(Set(seen.map(\.revision)).count == 20)
        }
    }
}
