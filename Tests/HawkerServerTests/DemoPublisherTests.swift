import Foundation
import HawkerHub
import HawkerProtocol
import HawkerServer
import Logging
import NIOCore
import NIOPosix
import Testing

/// `serve --demo` fills a `demo` stream with a catalog and keeps valid events coming.
@Suite struct DemoPublisherTests {
    @Test func theDemoStreamGetsACatalogAndKeepsMoving() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let hub = Hub(loops: Array(group.makeIterator()))
        let demo = DemoPublisher(streams: hub, interval: .milliseconds(1), logger: Logger(label: "demo.test"))
        let task = Task { try await demo.run() }
        // Bounded wait for the opening events plus a few ticks; not a timing assertion.
        var seq: UInt64 = 0
        for _ in 0..<2_000 where seq < 16 {
            seq = try await hub.snapshot(of: DemoPublisher.stream).get()?.position.seq ?? 0
            try await Task.sleep(for: .milliseconds(5))
        }
        task.cancel()
        _ = try? await task.value
        let snapshot = try #require(try await hub.snapshot(of: DemoPublisher.stream).get())
        #expect(snapshot.position.seq >= 16)
        let state = try JSONDecoder().decode(JSONValue.self, from: Data(snapshot.stateJSON.readableBytesView))
        #expect(state["stream"]?["status"] == "live")
        #expect(state["catalog"]?.arrayValue?.count == 4)
        #expect(Set(state["catalog"]?.arrayValue?.compactMap { $0["merchant"]?.stringValue } ?? []) == ["northwind", "cobbler-co"])
        // The scarf is shipped by Northwind's supplier, registered with the sellers.
        #expect(DemoPublisher.merchantTerms.map(\.merchant).contains("loom-works"))
        #expect(DemoPublisher.merchantTerms.first { $0.merchant == "northwind" }?.body.contains(#""scarf-3":{"merchant":"loom-works""#) == true)
        #expect(state["pinned"]?.arrayValue?.isEmpty == false)
        // The crowd asks the lining question in several phrasings: one entry.
        let questions = try #require(state["questions"]?.arrayValue)
        let lining = questions.filter { $0["text"]?.stringValue?.lowercased().contains("lining") == true }
        #expect(lining.count == 1)
        #expect((lining.first?["askers"]?.intValue ?? 0) >= 2)
        let insights = try #require(try await hub.insights(of: DemoPublisher.stream).get())
        let counters = try JSONDecoder().decode(JSONValue.self, from: Data(insights.readableBytesView))
        #expect((counters["chat"]?["messages"]?.intValue ?? 0) > 0)
        try await group.shutdownGracefully()
    }
}
