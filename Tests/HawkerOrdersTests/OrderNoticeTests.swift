import HawkerOrders
import HawkerProtocol
import Testing

/// A notice as one cluster node announces it to the others.
@Suite struct OrderNoticeTests {
    @Test func aNoticeReadsBackAsItWasAnnounced() throws {
        let stored = OrderNotice(
            id: 42, buyer: "ana", checkoutID: "ck_1", stream: StreamID("shop")!, type: .orderStatus, body: ["status": "shipped", "tracking": ["carrier": "DHL"]],
            createdAt: 1_700_000_000_000)
        #expect(OrderNotice(json: stored.json) == stored)
        var unstored = stored
        unstored.id = nil
        #expect(OrderNotice(json: unstored.json) == unstored)
    }

    @Test func whatIsNotANoticeIsRefused() throws {
        let good = OrderNotice(id: 1, buyer: "ana", checkoutID: "ck_1", stream: StreamID("shop")!, type: .orderConfirmed, body: [:], createdAt: 1).json
        #expect(OrderNotice(json: "not an object") == nil)
        for field in ["buyer", "checkout_id", "stream", "type", "body", "created_at"] {
            var object = try #require(good.objectValue)
            object[field] = nil
            #expect(OrderNotice(json: .object(object)) == nil, "without \(field)")
        }
        var object = try #require(good.objectValue)
        object["stream"] = "no spaces allowed"
        #expect(OrderNotice(json: .object(object)) == nil)
        object = try #require(good.objectValue)
        object["type"] = "order.unknown"
        #expect(OrderNotice(json: .object(object)) == nil)
        object = try #require(good.objectValue)
        object["id"] = "42"
        #expect(OrderNotice(json: .object(object)) == nil)
    }
}
