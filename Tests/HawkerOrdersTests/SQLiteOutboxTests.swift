import Foundation
import HawkerCommerce
import HawkerOrders
import HawkerProtocol
import Testing

/// What only the SQLite outbox has (its key filter, group commit); what every outbox does
/// is in OutboxConformanceTests.
@Suite struct SQLiteOutboxTests {
    private func temporaryPath() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-outbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("outbox.sqlite").path
    }

    private func reservation(_ id: String, merchants: [String] = ["m1"], at time: Int64 = 1_000) -> Reservation {
        outboxReservation(id, merchants: merchants, at: time)
    }

    /// The in-memory key filter follows retention: pruned keys are new again, the others
    /// are looked up.
    @Test func pruningForgetsTheKeysOfWhatItDeletes() async throws {
        let outbox = try SQLiteOutbox(path: try temporaryPath())
        try await outbox.append(reservation("old-confirmed", at: 1_000), stream: StreamID("shop")!)
        try await outbox.append(reservation("old-pending", at: 1_000), stream: StreamID("shop")!)
        try await outbox.record(.confirmed(reference: "R"), checkoutID: "old-confirmed", merchant: "m1", now: 2_000)
        #expect(try await outbox.prune(before: 5_000).checkouts == 1)
        #expect(!outbox.acceptedKeys.mayContain(buyer: "buyer-old-confirmed", idempotencyKey: "key-old-confirmed"))
        #expect(outbox.acceptedKeys.mayContain(buyer: "buyer-old-pending", idempotencyKey: "key-old-pending"))
    }

    /// Every stored key is in the filter, before and after a restart; new keys are not.
    @Test func theKeyFilterKnowsEveryStoredKey() async throws {
        let path = try temporaryPath()
        do {
            let outbox = try SQLiteOutbox(path: path)
            #expect(!outbox.acceptedKeys.mayContain(buyer: "buyer-c1", idempotencyKey: "key-c1"))
            try await outbox.append(reservation("c1"), stream: StreamID("shop")!)
            #expect(outbox.acceptedKeys.mayContain(buyer: "buyer-c1", idempotencyKey: "key-c1"))
        }
        let reopened = try SQLiteOutbox(path: path)
        #expect(reopened.acceptedKeys.mayContain(buyer: "buyer-c1", idempotencyKey: "key-c1"))
        #expect(!reopened.acceptedKeys.mayContain(buyer: "buyer-c1", idempotencyKey: "key-c2"))
        #expect(!reopened.acceptedKeys.mayContain(buyer: "buyer-c2", idempotencyKey: "key-c1"))
        #expect(reopened.acceptedKeys.count == 1)
    }

    /// Appends that arrive while a commit is in flight share the next one.
    @Test func concurrentAppendsAreGroupCommitted() async throws {
        let outbox = try SQLiteOutbox(path: try temporaryPath())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask { try await outbox.append(reservation("c\(index)"), stream: StreamID("shop")!) }
            }
            try await group.waitForAll()
        }
        #expect(await outbox.appended == 200)
        #expect(try await outbox.due(now: 10_000, limit: 1_000).count == 200)
        let commits = await outbox.commits
        #expect(commits >= 1)
        #expect(commits < 200)
    }
}
