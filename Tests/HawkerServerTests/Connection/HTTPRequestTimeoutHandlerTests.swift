import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import HawkerServer

@Suite struct HTTPRequestTimeoutHandlerTests {
    @Test func theFirstRequestHasTheTimeoutFromTheOpening() throws {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(handler: HTTPRequestTimeoutHandler(timeout: .seconds(10)) {}, loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        loop.advanceTime(by: .milliseconds(9_999))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    /// A connection handed over by the fast upgrade path keeps the deadline it opened
    /// with, instead of a fresh timeout.
    @Test func aHandedOverRequestKeepsItsDeadline() throws {
        let loop = EmbeddedEventLoop()
        loop.advanceTime(by: .seconds(5))
        let deadline = loop.now + .seconds(2)
        let channel = EmbeddedChannel(handler: HTTPRequestTimeoutHandler(timeout: .seconds(10), firstDeadline: deadline) {}, loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        loop.advanceTime(by: .milliseconds(1_999))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    /// Once answered, the next request has the whole timeout again.
    @Test func aResponseRestartsTheClock() throws {
        let loop = EmbeddedEventLoop()
        var firstRequests = 0
        let channel = EmbeddedChannel(handler: HTTPRequestTimeoutHandler(timeout: .seconds(10), firstDeadline: loop.now + .seconds(1)) { firstRequests += 1 }, loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(firstRequests == 1)
        loop.advanceTime(by: .seconds(5))
        #expect(channel.isActive, "the clock stops while a request is answered")
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        loop.advanceTime(by: .milliseconds(9_999))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }
}
