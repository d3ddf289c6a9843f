import Foundation
import HawkerAuth
import HawkerClient
import HawkerHub
import HawkerProtocol
import HawkerServer
import HawkerWebSocket
import NIOCore
import Testing

/// Late joiners, live order and resume, over real sockets.
@Suite struct FanoutEndToEndTests {
    @Test func lateJoinerGetsSnapshotThenLiveEventsInOrder() async throws {
        let server = try await TestGateway.start()
        let host = try await server.client(.host, streams: ["s1"], sub: "host")
        try await server.catalog("s1", ["p1"], price: 1_100)
        for price in [1_000, 900, 800] as [Int64] {
            try await host.send(["type": "publish", "id": "p\(price)", "stream": "s1", "event": ["kind": "price.changed", "data": ["product": "p1", "price": .int(price), "currency": "EUR"]]])
            #expect(try await host.receive()["type"] == "published")
        }
        let viewer = try await server.client(.viewer, streams: ["s1"])
        try await viewer.send(["type": "subscribe", "id": "s", "stream": "s1"])
        let subscribed = try await viewer.receive()
        #expect(subscribed["type"] == "subscribed")
        #expect(subscribed["recovered"] == false)
        #expect(subscribed["seq"] == 4)
        // The typed state, not the history: the current price, with the pre-drop price.
        let product = try #require(subscribed["state"]?["catalog"]?.arrayValue?.first)
        #expect(product["price"] == 800)
        #expect(product["previous_price"] == 1_100)

        for level in 1...20 {
            try await host.send(["type": "publish", "id": "q\(level)", "stream": "s1", "event": ["kind": "stock.changed", "data": ["product": "p1", "level": .int(Int64(level))]]])
        }
        for level in 1...20 {
            let event = try await viewer.receive()
            #expect(event["type"] == "event")
            #expect(event["seq"]?.intValue == Int64(4 + level))
            #expect(event["data"]?.objectValue?["level"]?.intValue == Int64(level))
        }
        await viewer.close()
        await host.close()
        await server.stop()
    }

    @Test func resumeWithinHistoryReplaysExactlyTheMissedEvents() async throws {
        let server = try await TestGateway.start()
        try await server.catalog("s2", ["p1"])
        for level in 2...5 {
            _ = try await server.publish("s2", "stock.changed", ["product": "p1", "level": .int(Int64(level))])
        }
        let first = try await server.client(.viewer, streams: ["s2"])
        try await first.send(["type": "subscribe", "id": "s", "stream": "s2"])
        let subscribed = try await first.receive()
        let epoch = try #require(subscribed["epoch"]?.stringValue)
        #expect(subscribed["seq"] == 5)
        await first.socket.abort()

        for level in 6...9 {
            _ = try await server.publish("s2", "stock.changed", ["product": "p1", "level": .int(Int64(level))])
        }
        let again = try await server.client(.viewer, streams: ["s2"])
        try await again.send(["type": "subscribe", "id": "r", "stream": "s2", "since": ["epoch": .string(epoch), "seq": 5]])
        let resumed = try await again.receive()
        #expect(resumed["recovered"] == true)
        #expect(resumed["replayed"] == 4)
        #expect(resumed["state"] == nil)
        for seq in 6...9 {
            #expect(try await again.receive()["seq"]?.intValue == Int64(seq))
        }
        // Then live, with no duplicate and no gap.
        _ = try await server.publish("s2", "stock.changed", ["product": "p1", "level": 10])
        #expect(try await again.receive()["seq"] == 10)
        await again.close()
        await server.stop()
    }

    @Test func resumeBeyondHistoryOrWithAnotherEpochGetsFreshSnapshot() async throws {
        let server = try await TestGateway.start { $0.hub.historyCapacity = 3 }
        try await server.catalog("s3", ["p0", "p1"])
        for level in 2...10 {
            _ = try await server.publish("s3", "stock.changed", ["product": "p\(level % 2)", "level": .int(Int64(level))])
        }
        let viewer = try await server.client(.viewer, streams: ["s3"])
        let epoch = try await {
            try await viewer.send(["type": "subscribe", "id": "a", "stream": "s3"])
            return try #require(try await viewer.receive()["epoch"]?.stringValue)
        }()
        try await viewer.send(["type": "unsubscribe", "id": "u", "stream": "s3"])
        #expect(try await viewer.receive()["type"] == "unsubscribed")

        // seq 2 is older than the 3 events kept.
        try await viewer.send(["type": "subscribe", "id": "b", "stream": "s3", "since": ["epoch": .string(epoch), "seq": 2]])
        let tooOld = try await viewer.receive()
        #expect(tooOld["recovered"] == false)
        #expect(tooOld["seq"] == 10)
        let catalog = try #require(tooOld["state"]?["catalog"]?.arrayValue)
        #expect(catalog.map { $0["stock"] } == [10, 9])
        try await viewer.send(["type": "unsubscribe", "id": "u2", "stream": "s3"])
        _ = try await viewer.receive()

        try await viewer.send(["type": "subscribe", "id": "c", "stream": "s3", "since": ["epoch": "another", "seq": 9]])
        #expect(try await viewer.receive()["recovered"] == false)

        // Exactly at the head: recovered with nothing to replay.
        try await viewer.send(["type": "unsubscribe", "id": "u3", "stream": "s3"])
        _ = try await viewer.receive()
        try await viewer.send(["type": "subscribe", "id": "d", "stream": "s3", "since": ["epoch": .string(epoch), "seq": 10]])
        let atHead = try await viewer.receive()
        #expect(atHead["recovered"] == true)
        #expect(atHead["replayed"] == 0)
        await viewer.close()
        await server.stop()
    }

    @Test func manyViewersOnBothLoopsReceiveEveryEventInOrder() async throws {
        let server = try await TestGateway.start()
        try await server.catalog("s4", ["p"])
        var viewers: [TestClient] = []
        for index in 0..<12 {
            let viewer = try await server.client(.viewer, streams: ["s4"], sub: "v\(index)")
            try await viewer.send(["type": "subscribe", "id": "s", "stream": "s4"])
            #expect(try await viewer.receive()["type"] == "subscribed")
            viewers.append(viewer)
        }
        for level in 1...30 {
            _ = try await server.publish("s4", "stock.changed", ["product": "p", "level": .int(Int64(level))])
        }
        for viewer in viewers {
            for seq in 2...31 {
                #expect(try await viewer.receive()["seq"]?.intValue == Int64(seq))
            }
            await viewer.close()
        }
        #expect(server.metricsText().contains("hawker_deliveries_total"))
        await server.stop()
    }

    @Test func viewersCannotSubscribeToStreamsThatDoNotExistButHostsCreateThem() async throws {
        let server = try await TestGateway.start()
        let viewer = try await server.client(.viewer, streams: ["*"])
        try await viewer.send(["type": "subscribe", "id": "s", "stream": "nope"])
        let refused = try await viewer.receive()
        #expect(refused["code"] == "stream_not_found")
        #expect(refused["re"] == "s")

        let host = try await server.client(.host, streams: ["fresh"])
        try await host.send(["type": "subscribe", "id": "h", "stream": "fresh"])
        let created = try await host.receive()
        #expect(created["type"] == "subscribed")
        #expect(created["seq"] == 0)
        #expect(created["state"]?["catalog"] == .array([]))
        await viewer.close()
        await host.close()
        await server.stop()
    }
}
