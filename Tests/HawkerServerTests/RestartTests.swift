import Foundation
import HawkerAuth
import HawkerProtocol
import NIOConcurrencyHelpers
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real gateway process stopped in the middle of a sale (SIGTERM, or SIGKILL as an OOM
/// killer would) and started again on the same data directory: every stream comes back.
@Suite(.serialized) struct RestartTests {
    enum Stop: String, CaseIterable, CustomTestStringConvertible {
        case sigterm
        case sigkill
        var testDescription: String { rawValue }
    }

    static let secret = "restart-secret-0123456789abcdef0123456789abcdef"
    static let stream = "restart-sale"

    @Test(.timeLimit(.minutes(5)), arguments: Stop.allCases)
    func aSaleSurvivesARestart(stop: Stop) async throws {
        // Rooms are saved every 100 ms: with SIGKILL, what the last save missed is replayed
        // from the events (the checks below hold either way).
        let gateways = try Gateways(settings: ["state.save_interval_ms=100"])
        defer { gateways.stopAll() }
        let issuer = await TokenIssuer(hmacSecret: Self.secret)
        let hostToken = try await issuer.issue(subject: "host", role: .host, streams: [Self.stream], ttl: 3_600)
        let viewerToken = try await issuer.issue(subject: "viewer", role: .viewer, streams: [Self.stream], ttl: 3_600)

        let first = try await gateways.launch()

        // The sale: catalog, pin, price drop, a flash sale ending in 6 s, an announcement.
        let host = try await OrderReliabilityStorm.connect(port: first.port, token: hostToken)
        let product: JSONValue = ["id": "tee", "title": "Tee", "merchant": "m1", "price": 2_500, "currency": "EUR", "stock": 40]
        let other: JSONValue = ["id": "cap", "title": "Cap", "merchant": "m1", "price": 1_500, "currency": "EUR"]
        for (kind, data) in [
            ("catalog.set", ["products": [product, other]] as [String: JSONValue]),
            ("product.pinned", ["product": "tee"]),
            ("price.changed", ["product": "cap", "price": 1_200, "currency": "EUR"]),
            ("sale.started", ["sale": "flash", "items": [["product": "tee", "price": 1_900]], "duration_ms": 6_000]),
            ("announcement", ["text": "two minutes left"]),
        ] {
            let reply = try await OrderReliabilityStorm.request(host, OrderReliabilityStorm.publish(Self.stream, kind, data))
            try #require(reply["type"] == "published", "\(kind): \(reply)")
        }

        // A viewer watches, then drops off; three events happen while it is away.
        let viewer = try await OrderReliabilityStorm.connect(port: first.port, token: viewerToken)
        let subscribed = try await OrderReliabilityStorm.request(viewer, ["type": "subscribe", "id": "s", "stream": .string(Self.stream)])
        let epoch = try #require(subscribed["epoch"]?.stringValue)
        let seen = try #require(subscribed["seq"]?.intValue)
        await viewer.close()
        var missed: [Int64] = []
        for index in 1...3 {
            let reply = try await OrderReliabilityStorm.request(host, OrderReliabilityStorm.publish(Self.stream, "announcement", ["text": .string("missed \(index)")]))
            missed.append(try #require(reply["seq"]?.intValue))
        }
        await host.close()
        let before = try await Self.streamState(port: first.port, token: hostToken)
        let saleEnds = try #require(Self.sale(in: before)?["ends_at"]?.intValue)

        switch stop {
        case .sigterm: try await first.terminate()
        case .sigkill: try await first.killNine()
        }

        let second = try await gateways.launch()

        // The same state, less what moves with time.
        let after = try await Self.streamState(port: second.port, token: hostToken)
        #expect(Self.withoutClocks(after) == Self.withoutClocks(before), "before: \(before)\nafter: \(after)")

        // The viewer resumes where it left off: recovered, exactly the three it missed.
        let back = try await OrderReliabilityStorm.connect(port: second.port, token: viewerToken)
        let resumed = try await OrderReliabilityStorm.request(
            back, ["type": "subscribe", "id": "r", "stream": .string(Self.stream), "since": ["epoch": .string(epoch), "seq": .int(seen)]])
        #expect(resumed["type"] == "subscribed" && resumed["recovered"] == true, "\(resumed)")
        #expect(resumed["epoch"]?.stringValue == epoch)
        #expect(resumed["replayed"]?.intValue == 3)
        var replayed: [Int64] = []
        while replayed.count < 3 {
            let event = try await OrderReliabilityStorm.read(back, "a replayed event", seconds: 30) { $0["type"] == "event" }
            replayed.append(event["seq"]?.intValue ?? -1)
        }
        #expect(replayed == missed)

        // The sale still ends on time, by the restarted gateway's clock.
        let ended = try await OrderReliabilityStorm.read(back, "sale.ended", seconds: 60) { $0["type"] == "event" && $0["kind"] == "sale.ended" }
        #expect(ended["data"]?["reason"] == "time")
        #expect((ended["data"]?["ended_at"]?.intValue ?? 0) >= saleEnds)
        #expect((ended["seq"]?.intValue ?? 0) == (missed.last ?? 0) + 1, "the sequence goes on without a gap")
        await back.close()
    }

    /// What a room counts between saves comes back from the outbox after a `kill -9`:
    /// the checkouts accepted since its last save count in the sale's limits and the
    /// insights, and the orders settled since count as settled.
    @Test(.timeLimit(.minutes(5)))
    func checkoutsSinceTheLastSaveStillCount() async throws {
        // No room is saved before the kill: everything the room counted must come back.
        let gateways = try Gateways(settings: ["state.save_interval_ms=600000", "orders.demo_delay_ms=1"])
        defer { gateways.stopAll() }
        let issuer = await TokenIssuer(hmacSecret: Self.secret)
        let hostToken = try await issuer.issue(subject: "host", role: .host, streams: [Self.stream], ttl: 3_600)
        let buyerToken = try await issuer.issue(subject: "ana", role: .viewer, streams: [Self.stream], ttl: 3_600)
        let first = try await gateways.launch()

        let host = try await OrderReliabilityStorm.connect(port: first.port, token: hostToken)
        let tee: JSONValue = ["id": "tee", "title": "Tee", "merchant": "m1", "price": 2_500, "currency": "EUR", "stock": 10]
        for (kind, data) in [
            ("catalog.set", ["products": [tee]] as [String: JSONValue]),
            ("sale.started", ["sale": "flash", "items": [["product": "tee", "price": 1_900]], "duration_ms": 600_000, "per_buyer_limit": 1]),
        ] {
            let reply = try await OrderReliabilityStorm.request(host, OrderReliabilityStorm.publish(Self.stream, kind, data))
            try #require(reply["type"] == "published", "\(kind): \(reply)")
        }
        await host.close()
        func checkout(_ port: Int, key: String) async throws -> (TestClient, [String: JSONValue]) {
            let buyer = try await OrderReliabilityStorm.connect(port: port, token: buyerToken)
            let reply = try await OrderReliabilityStorm.request(
                buyer,
                [
                    "type": "checkout", "id": .string(key), "stream": .string(Self.stream), "region": "DE", "idempotency_key": .string(key),
                    "items": [["product": "tee", "qty": 1, "price_seen": 1_900]],
                ])
            return (buyer, reply)
        }
        let (buyer, accepted) = try await checkout(first.port, key: "k1")
        try #require(accepted["type"] == "checkout.accepted", "\(accepted)")
        // Confirmed (and so recorded in the outbox) before the kill.
        _ = try await OrderReliabilityStorm.read(buyer, "order.confirmed", seconds: 30) { $0["type"] == "order.confirmed" }
        await buyer.close()
        try await first.killNine()

        let second = try await gateways.launch()
        let state = try await Self.streamState(port: second.port, token: hostToken)
        #expect(Self.sale(in: state)?["sold"]?.intValue == 1, "\(state)")
        #expect(state["state"]?["catalog"]?.arrayValue?.first?["stock"]?.intValue == 9)
        let insights = try await HTTP.request(
            "GET", port: second.port, path: "/v1/streams/\(Self.stream)/insights", headers: ["Authorization": "Bearer \(hostToken)"])
        let parsed = try JSONParser.parse(ByteBuffer(string: insights.body))
        #expect(parsed["checkouts"]?["by_product"]?.arrayValue?.first?["checkouts"]?.intValue == 1, "\(insights.body)")
        #expect(parsed["orders"]?["confirmed"]?.intValue == 1, "\(insights.body)")
        // The per-buyer limit still holds: the sale remembers the unit bought.
        let (again, refused) = try await checkout(second.port, key: "k2")
        #expect(refused["code"] == "limit_reached", "\(refused)")
        await again.close()
    }

    /// `GET /v1/streams/{id}` as JSON.
    static func streamState(port: Int, token: String) async throws -> JSONValue {
        let response = try await HTTP.request("GET", port: port, path: "/v1/streams/\(stream)", headers: ["Authorization": "Bearer \(token)"])
        try #require(response.status == 200, "GET /v1/streams/\(stream): \(response.status) \(response.body)")
        return try JSONParser.parse(ByteBuffer(string: response.body))
    }

    /// A registered code, and a referral ticket given out for it, outlive a `kill -9`: the
    /// next process credits a checkout that brings the ticket.
    @Test(.timeLimit(.minutes(5)))
    func influencerCodesAndReferralsSurviveAKill() async throws {
        let gateways = try Gateways(settings: [])
        defer { gateways.stopAll() }
        let issuer = await TokenIssuer(hmacSecret: Self.secret)
        let admin = try await issuer.issue(subject: "ops", role: .admin, streams: [], ttl: 3_600)
        let hostToken = try await issuer.issue(subject: "host", role: .host, streams: ["codes-live"], ttl: 3_600)
        let buyerToken = try await issuer.issue(subject: "buyer", role: .viewer, streams: ["codes-live"], ttl: 3_600)

        let first = try await gateways.launch()
        let registered = try await HTTP.request(
            "PUT", port: first.port, path: "/v1/affiliate-codes/anna10", headers: ["Authorization": "Bearer \(admin)"],
            body: #"{"owner":"anna","commission_bps":1000}"#)
        #expect(registered.status == 201)
        let arrived = try await OrderReliabilityStorm.connect(port: first.port, token: buyerToken)
        let referral = try await OrderReliabilityStorm.request(arrived, ["type": "referral", "id": "r", "code": "anna10"])
        let ticket = try #require(referral["ticket"]?.stringValue, "\(referral)")
        await arrived.close()
        try await first.killNine()

        let second = try await gateways.launch()
        let read = try await HTTP.request("GET", port: second.port, path: "/v1/affiliate-codes/ANNA10", headers: ["Authorization": "Bearer \(admin)"])
        #expect(read.json?["owner"] as? String == "anna")
        let host = try await OrderReliabilityStorm.connect(port: second.port, token: hostToken)
        let product: JSONValue = ["id": "tee", "title": "Tee", "merchant": "m1", "price": 2_500, "currency": "EUR", "stock": 5]
        for (kind, data) in [("catalog.set", ["products": [product]] as [String: JSONValue]), ("product.pinned", ["product": "tee"])] {
            let reply = try await OrderReliabilityStorm.request(host, OrderReliabilityStorm.publish("codes-live", kind, data))
            try #require(reply["type"] == "published", "\(kind): \(reply)")
        }
        let buyer = try await OrderReliabilityStorm.connect(port: second.port, token: buyerToken)
        let accepted = try await OrderReliabilityStorm.request(
            buyer,
            [
                "type": "checkout", "id": "k", "stream": "codes-live", "region": "DE", "idempotency_key": "after-kill",
                "items": [["product": "tee", "qty": 1, "price_seen": 2_500]], "attribution": ["referral": .string(ticket)],
            ])
        #expect(accepted["type"] == "checkout.accepted", "\(accepted)")
        #expect(accepted["attribution"] == ["codes": ["ANNA10"]])
        await buyer.close()
        await host.close()
    }

    /// A merchant registered at run time outlives a `kill -9`: the next process prices a
    /// checkout with its zone, shipping and tax, and shows its profile.
    @Test(.timeLimit(.minutes(5)))
    func registeredMerchantsSurviveAKill() async throws {
        let gateways = try Gateways(settings: [])
        defer { gateways.stopAll() }
        let issuer = await TokenIssuer(hmacSecret: Self.secret)
        let admin = try await issuer.issue(subject: "ops", role: .admin, streams: [], ttl: 3_600)
        let hostToken = try await issuer.issue(subject: "host", role: .host, streams: ["tea-live"], ttl: 3_600)
        let buyerToken = try await issuer.issue(subject: "buyer", role: .viewer, streams: ["tea-live"], ttl: 3_600)

        let first = try await gateways.launch()
        let registered = try await HTTP.request(
            "PUT", port: first.port, path: "/v1/merchants/teahouse", headers: ["Authorization": "Bearer \(admin)"],
            body: #"{"terms":{"currency":"EUR","prices_include_tax":false,"zones":[{"name":"Austria","regions":["AT"],"shipping":990,"tax_bps":2000}]}}"#)
        #expect(registered.status == 201, "\(registered.body)")
        try await first.killNine()

        let second = try await gateways.launch()
        let read = try await HTTP.request("GET", port: second.port, path: "/v1/merchants/teahouse", headers: ["Authorization": "Bearer \(admin)"])
        #expect(read.json?["registered"] as? Bool == true)
        let host = try await OrderReliabilityStorm.connect(port: second.port, token: hostToken)
        let product: JSONValue = ["id": "sencha", "title": "Sencha", "merchant": "teahouse", "price": 1_000, "currency": "EUR", "stock": 5]
        for (kind, data) in [("catalog.set", ["products": [product]] as [String: JSONValue]), ("product.pinned", ["product": "sencha"])] {
            let reply = try await OrderReliabilityStorm.request(host, OrderReliabilityStorm.publish("tea-live", kind, data))
            try #require(reply["type"] == "published", "\(kind): \(reply)")
        }
        let buyer = try await OrderReliabilityStorm.connect(port: second.port, token: buyerToken)
        // (10.00 + 9.90) + 20 % = 23.88.
        let accepted = try await OrderReliabilityStorm.request(
            buyer,
            [
                "type": "checkout", "id": "k", "stream": "tea-live", "ship_to": ["country": "AT"], "idempotency_key": "after-kill",
                "items": [["product": "sencha", "qty": 1, "price_seen": 1_000]], "totals_seen": [["currency": "EUR", "amount": 2_388]],
            ])
        #expect(accepted["type"] == "checkout.accepted", "\(accepted)")
        #expect(accepted["totals"] == [["currency": "EUR", "amount": 2_388]])
        await buyer.close()
        await host.close()
    }

    static func sale(in state: JSONValue) -> JSONValue? {
        state["state"]?["sales"]?.arrayValue?.first
    }

    /// The state without the fields that move with the clock or the audience.
    static func withoutClocks(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            var kept: [String: JSONValue] = [:]
            for (key, value) in object where !["server_time", "remaining_ms", "starts_in_ms", "viewers"].contains(key) {
                kept[key] = withoutClocks(value)
            }
            return .object(kept)
        case .array(let values):
            return .array(values.map(withoutClocks))
        default:
            return value
        }
    }
}

/// Gateway processes one after another on one data directory: each launched with the
/// same settings and waited for; all stopped, and the directory removed, at the end.
private final class Gateways: Sendable {
    let directory: String
    let arguments: [String]
    private let launched = NIOLockedValueBox<[GatewayProcess]>([])

    init(settings: [String]) throws {
        try #require(FileManager.default.isExecutableFile(atPath: GatewayProcess.binary.path), "build first: swift build")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-restart-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        arguments =
            ["--data-dir", directory + "/data", "--set", "jwt.secret=\(RestartTests.secret)", "--set", "log.level=warning"]
            + settings.flatMap { ["--set", $0] }
    }

    /// The next gateway, healthy (its log: gateway-N.log in the directory).
    func launch() async throws -> GatewayProcess {
        let number = launched.withLockedValue { $0.count } + 1
        let gateway = try GatewayProcess.launch(
            port: try await GatewayProcess.freePort(), arguments: arguments, logPath: directory + "/gateway-\(number).log")
        launched.withLockedValue { $0.append(gateway) }
        try await gateway.waitUntilHealthy()
        return gateway
    }

    func stopAll() {
        for gateway in launched.withLockedValue({ $0 }) { gateway.stop() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
