import Foundation
import HawkerAuth
import HawkerClient
import HawkerProtocol
import Testing

/// Every probe of the hardening issue, replayed against a real gateway process (a fresh
/// one each, its memory read from /proc): a client that sends and never reads, numbers
/// that used to trap, sockets that never finish a handshake, one user trying to take the
/// gateway, history of large events. Each ends with a code or a close, memory bounded,
/// and the gateway still serving. Bounds are generous multiples of what the defences
/// allow and small fractions of what the unbounded gateway used to hold; nothing is
/// timed.
@Suite(.serialized) struct AbuseStorm {
    static let secret = "abuse-secret-0123456789abcdef0123456789abcdef"
    static let mebibyte = 1 << 20

    /// A gateway process with `settings` (`key=value`), and tokens for it.
    struct Target {
        let process: GatewayProcess
        let issuer: TokenIssuer
        let directory: String

        var port: Int { process.port }
        var rss: Int { ProcessMemory.residentBytes(pid: process.pid) }

        func token(_ role: Role, sub: String, streams: [String] = ["*"], ttl: TimeInterval = 3_600) async throws -> String {
            try await issuer.issue(subject: sub, role: role, streams: streams, ttl: ttl)
        }

        /// Still running and answering a fresh client.
        func expectServing(_ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) async {
            #expect(process.isRunning, comment, sourceLocation: sourceLocation)
            let health = try? await RawHTTP.exchange(port: port, "GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n")
            #expect(health?.status == 200, comment, sourceLocation: sourceLocation)
        }
    }

    static func launch(_ settings: [String] = [], tls: (certificate: String, key: String)? = nil) async throws -> Target {
        try #require(FileManager.default.isExecutableFile(atPath: GatewayProcess.binary.path), "build first: swift build")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-abuse-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        var arguments = ["--data-dir", directory + "/data", "--set", "jwt.secret=\(secret)", "--set", "log.level=error"]
        if let tls { arguments += ["--set", "tls.certificate=\(tls.certificate)", "--set", "tls.private_key=\(tls.key)"] }
        for setting in settings { arguments += ["--set", setting] }
        let process = try GatewayProcess.launch(port: try await GatewayProcess.freePort(), arguments: arguments, logPath: directory + "/gateway.log")
        if tls == nil { try await process.waitUntilHealthy() } else { try await Task.sleep(for: .seconds(1)) }
        return Target(process: process, issuer: await TokenIssuer(hmacSecret: secret), directory: directory)
    }

    /// What the gateway holds after `probe` beyond what it held before, in bytes.
    static func growth(of target: Target, _ probe: () async throws -> Void) async throws -> Int {
        let before = target.rss
        try await probe()
        return target.rss - before
    }

    // MARK: - Clients that send and never read

    /// Pipelined requests, never read: ~4.2 KB kept per request before (1.2 GB after
    /// 300,000). Now the connection's request rate, or with that raised its outbound
    /// budget, ends it.
    @Test(arguments: [[], ["http.request_burst=100000", "http.requests_per_second=100000"]])
    func pipelinedRequestsThatAreNeverReadEndInAClose(_ settings: [String]) async throws {
        let target = try await Self.launch(settings)
        defer { target.process.stop() }
        let admin = try await target.token(.admin, sub: "ops")
        let request = Array("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(admin)\r\n\r\n".utf8)
        let batch = Array([[UInt8]](repeating: request, count: 200).joined())
        let growth = try await Self.growth(of: target) {
            let socket = try FloodSocket(port: target.port)
            #expect(socket.flood(batch, seconds: 60), "the gateway kept answering a client that never reads")
        }
        #expect(growth < 48 * Self.mebibyte, "grew by \(growth / Self.mebibyte) MiB")
        await target.expectServing()
    }

    /// Pings before `connect`, pongs never read: 800 MB after 3 million before.
    @Test(arguments: [[], ["ws.control_frames_per_second=10000", "ws.control_frame_burst=100000"]])
    func pingsThatAreNeverReadEndInAClose(_ settings: [String]) async throws {
        let target = try await Self.launch(settings)
        defer { target.process.stop() }
        // Full-size pings (125 bytes, the most a control frame carries): with the rate
        // raised, their pongs fill the outbound budget within seconds even when a loaded
        // machine slows the sender (4-byte pings needed over a minute there).
        let pings = Array([[UInt8]](repeating: FloodSocket.frame(opcode: 0x9, [UInt8](repeating: 7, count: 125)), count: 1_000).joined())
        let growth = try await Self.growth(of: target) {
            let socket = try FloodSocket(port: target.port)
            try socket.upgrade()
            #expect(socket.flood(pings, seconds: 60), "the gateway kept answering pings nobody reads")
        }
        #expect(growth < 48 * Self.mebibyte, "grew by \(growth / Self.mebibyte) MiB")
        await target.expectServing()
    }

    /// Within the command rate, subscribe and unsubscribe on a stream with ~50 KB of
    /// state, never reading: +6.7 MB per connection per 30 s, never closed, before.
    @Test func subscribeUnsubscribeOnALargeStateWithoutReadingEndsWith4001() async throws {
        let target = try await Self.launch()
        defer { target.process.stop() }
        let host = try await OrderReliabilityStorm.connect(port: target.port, token: try await target.token(.admin, sub: "ops"))
        let products: [JSONValue] = (0..<25).map { index in
            [
                "id": .string("p\(index)"), "title": "Product", "merchant": "m1", "price": 100, "currency": "EUR",
                "description": .string(String(repeating: "d", count: 1_900)),
            ]
        }
        #expect(try await OrderReliabilityStorm.request(host, OrderReliabilityStorm.publish("big", "catalog.set", ["products": .array(products)]))["type"] == "published")
        await host.close()

        let viewer = try await target.token(.viewer, sub: "looper")
        let growth = try await Self.growth(of: target) {
            let socket = try FloodSocket(port: target.port)
            try socket.upgrade()
            _ = socket.send(FloodSocket.text(#"{"type":"connect","id":"c","token":"\#(viewer)"}"#))
            _ = socket.read(until: "welcome")
            var closed = false
            // 10 commands a second: half the default command rate, never refused. The pause
            // after subscribe lets the state go out (an unsubscribe while it is pending
            // would cancel it).
            for round in 0..<600 where !closed {
                closed =
                    !socket.send(FloodSocket.text(#"{"type":"subscribe","id":"s\#(round)","stream":"big"}"#))
                    || socket.waitForClose(seconds: 0.1)
                    || !socket.send(FloodSocket.text(#"{"type":"unsubscribe","id":"u\#(round)","stream":"big"}"#))
                    || socket.waitForClose(seconds: 0.1)
            }
            #expect(closed, "a viewer that never reads was never closed")
        }
        #expect(growth < 32 * Self.mebibyte, "grew by \(growth / Self.mebibyte) MiB")
        await target.expectServing()
    }

    // MARK: - Numbers that used to trap

    /// Each of these crashed the process (every connection and stream lost); now each is
    /// an error reply and the gateway goes on.
    @Test func numbersPastTwoToThe53AreRefusedAndNothingTraps() async throws {
        let target = try await Self.launch(["orders.default_backend=none", "checkout.buyable=any"])
        defer { target.process.stop() }
        let admin = try await target.token(.admin, sub: "ops")
        func publish(_ kind: String, _ data: String) async throws -> RawHTTP.Response {
            let body = #"{"kind":"\#(kind)","data":\#(data)}"#
            return try await RawHTTP.exchange(
                port: target.port,
                "POST /v1/streams/n/events HTTP/1.1\nHost: x\nAuthorization: Bearer \(admin)\nContent-Type: application/json\nContent-Length: \(body.utf8.count)\nConnection: close\n\n\(body)"
            )
        }
        let top = JSONValue.maxSafeInteger
        let catalog =
            #"{"products":[{"id":"dear","title":"Dear","merchant":"m1","price":\#(top),"currency":"EUR","stock":10},{"id":"tee","title":"Tee","merchant":"m1","price":100,"currency":"EUR","stock":5}]}"#
        #expect(try await publish("catalog.set", catalog).status == 201)
        for (kind, data) in [
            ("sale.started", #"{"sale":"s1","items":[{"product":"tee","price":50}],"duration_ms":9223372036854775807}"#),
            ("sale.scheduled", #"{"sale":"s2","items":[{"product":"tee","price":50}],"starts_at":9223372036854775800,"duration_ms":60000}"#),
            ("price.changed", #"{"product":"tee","price":9223372036854775806}"#),
            ("stock.changed", #"{"product":"tee","level":9223372036854775807}"#),
            ("stock.changed", #"{"product":"tee","level":1.0}"#),
        ] {
            let response = try await publish(kind, data)
            #expect(response.status == 400, "\(kind) \(data)")
            #expect(response.body.contains("invalid_event"), "\(kind): \(response.body)")
        }
        // A cart whose total passes 2^53 − 1: refused before anything is reserved or stored.
        let buyer = try await OrderReliabilityStorm.connect(port: target.port, token: try await target.token(.viewer, sub: "buyer"))
        let dear = try await OrderReliabilityStorm.request(
            buyer,
            [
                "type": "checkout", "id": "k1", "stream": "n", "items": [["product": "dear", "qty": 2, "price_seen": .int(top)]],
                "region": "DE", "idempotency_key": "dear-1",
            ])
        #expect(dear["code"] == "invalid_checkout")
        // Stock near the top, then an order that fails gives its units back: no trap, the
        // level is what it was (saturation at 2^53 − 1 is in CheckoutTests).
        #expect(try await publish("stock.changed", #"{"product":"tee","level":\#(top - 1)}"#).status == 201)
        let tee = try await OrderReliabilityStorm.request(
            buyer,
            [
                "type": "checkout", "id": "k2", "stream": "n", "items": [["product": "tee", "qty": 3, "price_seen": 100]],
                "region": "DE", "idempotency_key": "tee-1",
            ])
        #expect(tee["type"] == "checkout.accepted")
        _ = try await OrderReliabilityStorm.read(buyer, "the failed order") { $0["type"] == "order.failed" }
        await buyer.close()
        // A validly signed token with exp = 10^16 (seconds): refused, not a trap.
        let far = try await target.token(.viewer, sub: "far", ttl: 1e16)
        let client = TestClient(connection: try await HawkerConnection.open(host: "127.0.0.1", port: target.port))
        try await client.send(["type": "connect", "id": "c", "token": .string(far)])
        #expect(try await client.receive()["code"] == "unauthorized")
        await target.expectServing()
        let state = try await RawHTTP.exchange(port: target.port, "GET /v1/streams/n HTTP/1.1\nHost: x\nAuthorization: Bearer \(admin)\nConnection: close\n\n")
        #expect(state.body.contains(#""stock":\#(top - 1)"#), "the failed order's units are back")
    }

    // MARK: - Handshakes that never finish

    /// 2,000 slowloris sockets were all held after 130 s; with `max_connections` = 300,
    /// 300 silent sockets locked everyone out. Now each has `http.request_timeout_ms`.
    @Test func silentAndSlowlorisSocketsAreDroppedAndTheGatewayOpensAgain() async throws {
        let target = try await Self.launch(["max_connections=100", "http.request_timeout_ms=1000"])
        defer { target.process.stop() }
        let silent = try (0..<60).map { _ in try FloodSocket(port: target.port) }
        let slow = try (0..<40).map { _ in try FloodSocket(port: target.port) }
        for socket in slow { _ = socket.send("GET /healthz HTTP/1.1\r\nHost: x\r\n") }
        // A header line every 200 ms: an idle timer would never fire.
        var rounds = 0
        while rounds < 100, slow.contains(where: { !$0.isClosed }) {
            for socket in slow where !socket.isClosed { _ = socket.send("X-Pad-\(rounds): x\r\n") }
            try await Task.sleep(for: .milliseconds(200))
            rounds += 1
        }
        let open = slow.filter { !$0.isClosed }.count
        #expect(open == 0, "\(open) slowloris sockets still open after \(rounds * 200) ms")
        #expect(silent.allSatisfy { $0.waitForClose(seconds: 10) })
        await target.expectServing("the gateway takes new clients once the silent ones are gone")
    }

    /// 50 silent TLS sockets stayed open past 65 s.
    @Test func silentTLSSocketsAreDropped() async throws {
        let target = try await Self.launch(["tls.handshake_timeout_ms=1000"], tls: try TLSTests.selfSignedCertificate())
        defer { target.process.stop() }
        let silent = try (0..<50).map { _ in try FloodSocket(port: target.port) }
        #expect(silent.allSatisfy { $0.waitForClose(seconds: 15) })
        #expect(target.process.isRunning)
    }

    // MARK: - One user, no quotas

    /// A host token for `*` created 20,000 streams over HTTP, then every other host got
    /// 503. Now its quota stops it, and others go on.
    @Test func oneHostCannotFillTheGatewayWithStreams() async throws {
        let target = try await Self.launch(["quota.streams_per_user=50", "quota.http_requests_per_second=1000", "quota.http_request_burst=1000"])
        defer { target.process.stop() }
        let greedy = try await target.token(.host, sub: "greedy")
        var created = 0
        var refusal = ""
        for index in 0..<200 where refusal.isEmpty {
            let body = #"{"kind":"stream.started"}"#
            let response = try await RawHTTP.exchange(
                port: target.port,
                "POST /v1/streams/g\(index)/events HTTP/1.1\nHost: x\nAuthorization: Bearer \(greedy)\nContent-Length: \(body.utf8.count)\nConnection: close\n\n\(body)"
            )
            if response.status == 201 { created += 1 } else { refusal = response.body }
        }
        #expect(created == 50)
        #expect(refusal.contains("quota_exceeded"))
        let other = try await target.token(.host, sub: "other")
        let body = #"{"kind":"stream.started"}"#
        let theirs = try await RawHTTP.exchange(
            port: target.port,
            "POST /v1/streams/theirs/events HTTP/1.1\nHost: x\nAuthorization: Bearer \(other)\nContent-Length: \(body.utf8.count)\nConnection: close\n\n\(body)"
        )
        #expect(theirs.status == 201)
        await target.expectServing()
    }

    /// One token held 2,000 connections and 10,000 subscriptions.
    @Test func oneTokenCannotHoldThousandsOfConnections() async throws {
        let target = try await Self.launch()
        defer { target.process.stop() }
        let token = try await target.token(.viewer, sub: "hoarder")
        var welcomed = 0
        var refused: [String] = []
        var clients: [TestClient] = []
        for _ in 0..<40 {
            let client = TestClient(connection: try await HawkerConnection.open(host: "127.0.0.1", port: target.port))
            try await client.send(["type": "connect", "id": "c", "token": .string(token)])
            let reply = try await client.receive()
            if reply["type"] == "welcome" {
                welcomed += 1
                clients.append(client)
            } else {
                refused.append(reply["code"]?.stringValue ?? "?")
                #expect(try await client.closeCode() == 4503)
            }
        }
        #expect(welcomed == 32)
        #expect(refused == Array(repeating: "quota_exceeded", count: 8))
        for client in clients { await client.close() }
        await target.expectServing()
    }

    // MARK: - History

    /// 1,000 events of 62 KB held 67 MB per stream, still after the host left. Now a
    /// stream's history holds `hub.history_max_bytes`.
    @Test func historyOfLargeEventsIsBoundedByBytes() async throws {
        let target = try await Self.launch(["session.publisher_commands_per_second=100000", "session.publisher_command_burst=100000"])
        defer { target.process.stop() }
        let host = try await OrderReliabilityStorm.connect(port: target.port, token: try await target.token(.admin, sub: "ops"))
        let growth = try await Self.growth(of: target) {
            for round in 0..<600 {
                let products: [JSONValue] = (0..<25).map { index in
                    [
                        "id": .string("p\(index)"), "title": "Product", "merchant": "m1", "price": .int(Int64(100 + round)), "currency": "EUR",
                        "description": .string(String(repeating: Character(UnicodeScalar(UInt8(97 + round % 26))), count: 1_900)),
                    ]
                }
                let reply = try await OrderReliabilityStorm.request(host, OrderReliabilityStorm.publish("large", "catalog.set", ["products": .array(products)]))
                #expect(reply["type"] == "published")
            }
        }
        await host.close()
        // 600 events of ~50 KB: ~30 MB unbounded; the byte bound keeps 1 MiB of them.
        #expect(growth < 16 * Self.mebibyte, "grew by \(growth / Self.mebibyte) MiB")
        await target.expectServing()
    }
}
