import Foundation
import HawkerCommerce
import HawkerProtocol
import Testing

/// A room saved and restored (a gateway restart) is the same room.
@Suite struct StreamRoomSaveTests {
    static let now: Int64 = 1_800_000_000_000
    static let viewer = Author(user: "v1", name: nil, role: "viewer", isStaff: false)
    static let host = Author(user: "host", name: nil, role: "host", isStaff: true)

    static func draft(_ kind: EventKind, _ data: [String: JSONValue]) -> EventDraft {
        try! EventDraft(kind: kind, data: data)
    }

    static func busyRoom() throws -> StreamRoom {
        var room = StreamRoom()
        _ = try room.apply(
            draft(
                .catalogSet,
                [
                    "products": [
                        ["id": "a", "title": "Tee", "merchant": "m1", "price": 1_000, "currency": "EUR", "stock": 5], ["id": "b", "title": "Cap", "merchant": "m2", "price": 500, "currency": "EUR"],
                    ]
                ]),
            now: now)
        _ = try room.apply(draft(.productPinned, ["product": "a"]), now: now)
        _ = try room.apply(draft(.saleStarted, ["sale": "s", "items": [["product": "a", "price": 800]], "duration_ms": 60_000, "per_buyer_limit": 2]), now: now)
        _ = try room.apply(draft(.announcement, ["text": "last units"]), now: now)
        _ = room.perform(.chat(text: "hello"), by: viewer, now: now)
        _ = room.perform(.ask(text: "does it come in blue?"), by: viewer, now: now)
        _ = room.perform(.moderate(.ban(user: "troll")), by: host, now: now)
        _ = room.perform(.intent(product: "a", variant: nil, action: .addToCart), by: viewer, now: now)
        let request = CheckoutRequest(lines: [.init(product: "a", variant: nil, quantity: 1, priceSeen: 800)], shipTo: "DE", idempotencyKey: "k1")
        guard case .success = room.checkout(request, buyer: "b1", checkoutID: "c1", now: now).result else {
            throw SaveFailure("the checkout was refused")
        }
        return room
    }

    struct SaveFailure: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    @Test func aRestoredRoomShowsAndCountsTheSame() throws {
        let room = try Self.busyRoom()
        let restored = try #require(StreamRoom(restoring: room.save(), configuration: RoomConfiguration(), seed: 7))
        #expect(restored.stateJSON(now: Self.now) == room.stateJSON(now: Self.now))
        #expect(restored.insightsJSON(now: Self.now) == room.insightsJSON(now: Self.now))
        let again = try #require(StreamRoom(restoring: restored.save(), configuration: RoomConfiguration(), seed: 7))
        #expect(again.stateJSON(now: Self.now) == room.stateJSON(now: Self.now) && again.insightsJSON(now: Self.now) == room.insightsJSON(now: Self.now))
    }

    @Test func aRestoredRoomGoesOnWhereItStopped() throws {
        var restored = try #require(StreamRoom(restoring: try Self.busyRoom().save(), configuration: RoomConfiguration(), seed: 7))
        // The ban holds, chat ids go on, the sale's per-buyer count holds.
        guard case .failure = restored.perform(.chat(text: "hi"), by: Author(user: "troll", name: nil, role: "viewer", isStaff: false), now: Self.now) else {
            Issue.record("the ban was forgotten")
            return
        }
        guard case .success(let reply) = restored.perform(.chat(text: "again"), by: Self.viewer, now: Self.now + 5_000) else {
            Issue.record("chat refused after the restore")
            return
        }
        #expect(reply.body["message"]?["id"] == "m2")
        let twoMore = CheckoutRequest(lines: [.init(product: "a", variant: nil, quantity: 2, priceSeen: 800)], shipTo: "DE", idempotencyKey: "k2")
        guard case .failure(let refusal) = restored.checkout(twoMore, buyer: "b1", checkoutID: "c2", now: Self.now).result else {
            Issue.record("the per-buyer limit was forgotten")
            return
        }
        #expect(refusal.reason == .limitReached)
    }

    @Test func bytesThatAreNotASavedRoomAreRefused() {
        #expect(StreamRoom(restoring: Array("not json".utf8), configuration: RoomConfiguration(), seed: 1) == nil)
        #expect(StreamRoom(restoring: Array(#"{"format":2}"#.utf8), configuration: RoomConfiguration(), seed: 1) == nil)
    }

    /// The fuzzer's seed is a saved room this build reads (so the fuzzer starts inside).
    @Test func theFuzzSeedIsASavedRoom() throws {
        let seed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/Corpus/FuzzStoredState/seed-room")
        let bytes = try Data(contentsOf: seed)
        #expect(StreamRoom(restoring: Array(bytes.dropFirst()), configuration: RoomConfiguration(), seed: 1) != nil)
    }
}
