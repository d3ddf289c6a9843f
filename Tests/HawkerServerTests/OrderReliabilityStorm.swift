import Foundation
import HawkerAuth
import HawkerClient
import HawkerOrders
import HawkerProtocol
import HawkerServer
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// The promise behind `checkout.accepted` (PROTOCOL.md 6.16): an accepted checkout reaches
/// its merchant at least once, under one idempotency key, whatever fails on the way — the
/// gateway killed with SIGKILL in a checkout storm, the merchant's webhook refusing
/// connections, answering 5xx or hanging, and an order given up on and re-driven by an
/// operator.
///
/// Every "eventually" waits with a generous deadline; nothing asserts on timings.
/// Serialized: the kill -9 storm wants the machine to itself.
@Suite(.serialized) struct OrderReliabilityStorm {
    static let merchant = "m1"

    // MARK: - kill -9 in a checkout storm

    @Test(.timeLimit(.minutes(10)))
    func killNineInACheckoutStormLosesNothing() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: GatewayProcess.binary.path),
            "build first: swift build (\(GatewayProcess.binary.path) is missing)"
        )
        let secret = "storm-secret-0123456789abcdef0123456789abcdef"
        let stream = "storm"
        let price: Int64 = 2_500
        let buyerCount = 10
        let window = 16
        let acceptedBeforeKill = 200
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-kill9-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)

        let receiver = WebhookReceiver()
        try await receiver.start()
        // Failing at first: what is accepted before the kill is still pending in the outbox,
        // so only the outbox on disk can get it to the merchant.
        receiver.behave(.fail(status: 503))
        // Both runs share the data directory (the outbox) and everything else.
        let arguments = [
            "--data-dir", directory + "/data",
            "--set", "jwt.secret=\(secret)",
            "--set", "merchants.\(Self.merchant).backend=webhook",
            "--set", "merchants.\(Self.merchant).url=\(receiver.url)",
            "--set", "merchants.\(Self.merchant).secret=\(receiver.secret)",
            // Short backoff and cooldown so that the restarted gateway delivers promptly;
            // no dead letters however long the merchant fails.
            "--set", "orders.retry_base_ms=50",
            "--set", "orders.retry_max_ms=1000",
            "--set", "orders.max_attempts=1000",
            "--set", "orders.breaker_cooldown_ms=200",
            // The storm is many commands per connection: no rate limit in the way.
            "--set", "session.commands_per_second=100000",
            "--set", "session.command_burst=100000",
            "--set", "quota.checkouts_per_minute=600000",
            "--set", "quota.checkout_burst=100000",
            "--set", "log.level=warning",
        ]
        let launched = NIOLockedValueBox<[GatewayProcess]>([])

        try await Self.withCleanup {
            let firstPort = try await GatewayProcess.freePort()
            let first = try GatewayProcess.launch(port: firstPort, arguments: arguments, logPath: directory + "/gateway-1.log")
            launched.withLockedValue { $0.append(first) }
            try await first.waitUntilHealthy()

            let issuer = await TokenIssuer(hmacSecret: secret)
            let hostToken = try await issuer.issue(subject: "host", role: .host, streams: [stream], ttl: 3_600)
            let host = try await Self.connect(port: first.port, token: hostToken)
            let product: JSONValue = [
                "id": "tee", "title": "Storm tee", "merchant": .string(Self.merchant), "price": .int(price), "currency": "EUR", "stock": 1_000_000,
            ]
            #expect(try await Self.request(host, Self.publish(stream, "catalog.set", ["products": [product]]))["type"] == "published")
            // The default checkout policy sells pinned products (and those on sale).
            #expect(try await Self.request(host, Self.publish(stream, "product.pinned", ["product": "tee"]))["type"] == "published")
            await host.close()

            var tokens: [String] = []
            for index in 0..<buyerCount {
                tokens.append(try await issuer.issue(subject: "buyer-\(index)", role: .viewer, streams: [stream], ttl: 3_600))
            }
            let storm = Storm()
            let port = first.port
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, token) in tokens.enumerated() {
                    group.addTask {
                        await Self.stormBuyer(port: port, token: token, buyer: "buyer-\(index)", stream: stream, product: "tee", price: price, window: window, storm: storm)
                    }
                }
                do {
                    try await Self.eventually("\(acceptedBeforeKill) checkouts accepted", seconds: 120) {
                        storm.accepted.withLockedValue { $0.count } >= acceptedBeforeKill
                    }
                } catch {
                    storm.stop.withLockedValue { $0 = true }
                    first.stop()  // ends the buyers' connections, so the group can finish
                    throw error
                }
                // Mid-storm: hundreds of checkouts in flight, commits in progress.
                try await first.killNine()
                // The buyers' connections die with it; what they were told stands.
                try await group.waitForAll()
            }
            #expect(first.wasKilledBySIGKILL, "the first gateway should have died of SIGKILL; log:\n\(first.logTail())")

            let accepted = storm.accepted.withLockedValue { $0 }
            let refused = storm.refused.withLockedValue { $0 }
            let sent = storm.sent.withLockedValue { $0 }
            let requestsBeforeRestart = receiver.requests.count
            print(
                "kill -9 storm: \(buyerCount) buyers sent \(sent) checkouts; \(accepted.count) accepted before the kill; refused: \(refused); \(requestsBeforeRestart) webhook attempts answered 503 before it"
            )
            #expect(refused.isEmpty, "nothing in this storm should be refused: \(refused)")
            try #require(accepted.count >= acceptedBeforeKill)

            // The merchant recovers while the gateway is down; the restarted gateway (a new
            // port: the old one's sockets may linger) must deliver all of it from disk.
            receiver.behave(.confirm)
            let secondPort = try await GatewayProcess.freePort()
            let second = try GatewayProcess.launch(port: secondPort, arguments: arguments, logPath: directory + "/gateway-2.log")
            launched.withLockedValue { $0.append(second) }
            try await second.waitUntilHealthy()

            let acceptedKeys = Set(accepted.map { "\($0):\(Self.merchant)" })
            do {
                try await Self.eventually("every accepted checkout reaches the merchant", seconds: 240) {
                    acceptedKeys.isSubset(of: receiver.orders.keys)
                }
            } catch {
                let missing = acceptedKeys.subtracting(receiver.orders.keys)
                Issue.record(
                    "\(missing.count) of \(acceptedKeys.count) accepted checkouts never reached the merchant, e.g. \(missing.sorted().prefix(5)); restarted gateway's log:\n\(second.logTail())"
                )
                throw error
            }

            let orders = receiver.orders
            let requests = receiver.requests
            // Every delivery, before and after the kill, is signed, fresh and names its key.
            let badlySigned = requests.filter { !$0.signatureValid || !$0.timestampFresh }.count
            #expect(badlySigned == 0, "\(badlySigned) of \(requests.count) webhook requests had a bad signature or a stale timestamp")
            #expect(requests.allSatisfy { $0.idempotencyKey != nil }, "every webhook request carries Idempotency-Key")
            #expect(
                requests.allSatisfy { $0.idempotencyKey == nil || $0.body["idempotency_key"]?.stringValue == $0.idempotencyKey },
                "the body's idempotency_key is the header's"
            )
            // However often a key was delivered, every delivery was of the same checkout.
            var checkoutsByKey: [String: Set<String>] = [:]
            for request in requests {
                guard let key = request.idempotencyKey else { continue }
                checkoutsByKey[key, default: []].insert(request.body["checkout_id"]?.stringValue ?? "(none)")
            }
            let mixedKeys = checkoutsByKey.filter { $0.value != [Self.checkoutID(ofKey: $0.key)] }
            #expect(mixedKeys.isEmpty, "keys delivered with another checkout's body: \(Array(mixedKeys.keys.sorted().prefix(5)))")
            // One order per key (the receiver keeps the first), and it is that checkout's.
            let wrongOrders = orders.filter {
                $0.value.body["checkout_id"]?.stringValue != Self.checkoutID(ofKey: $0.key)
                    || $0.value.body["stream"]?.stringValue != stream
                    || $0.value.body["merchant"]?.stringValue != Self.merchant
            }
            #expect(wrongOrders.isEmpty, "orders that do not match their key: \(Array(wrongOrders.keys.sorted().prefix(5)))")
            // Committed but never answered (the process died between the commit and the
            // reply): delivered too, which is right; the client would get them on a retry.
            let unheard = Set(orders.keys).subtracting(acceptedKeys)

            let afterRestart = requests.dropFirst(requestsBeforeRestart)
            let redeliveries = afterRestart.count - Set(afterRestart.compactMap(\.idempotencyKey)).count
            print(
                "kill -9 storm: after the restart \(afterRestart.count) deliveries for \(orders.count) orders (\(redeliveries) redeliveries); \(unheard.count) orders of checkouts committed but never answered"
            )

            // Every buyer retries every key it sent, answered or not, as a client that lost
            // its connection would: a key accepted before the kill gets that same checkout
            // back; one that never reached the outbox is checked again in the restored
            // stream. Every final answer is an acceptance, and the merchant ends up with
            // exactly the checkouts the buyers were finally told about.
            let sentByBuyer = storm.sentByBuyer.withLockedValue { $0 }
            let acceptedByKey = storm.acceptedByKey.withLockedValue { $0 }
            let finalAnswers = NIOLockedValueBox<[String: String]>([:])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, token) in tokens.enumerated() {
                    let buyer = "buyer-\(index)"
                    let keys = (1...max(1, sentByBuyer[buyer] ?? 0)).map { "\(buyer)-\($0)" }
                    group.addTask {
                        let client = try await Self.connect(port: second.port, token: token)
                        for key in keys {
                            let reply = try await Self.request(client, Self.checkoutCommand(id: "r-\(key)", stream: stream, product: "tee", price: price, key: key))
                            try #require(reply["type"] == "checkout.accepted", "the retry of \(key) was answered \(reply)")
                            let checkout = try #require(reply["checkout_id"]?.stringValue)
                            finalAnswers.withLockedValue { $0[key] = checkout }
                        }
                        await client.close()
                    }
                }
                try await group.waitForAll()
            }
            let answers = finalAnswers.withLockedValue { $0 }
            let changed = acceptedByKey.filter { answers[$0.key] != $0.value }
            #expect(changed.isEmpty, "keys accepted before the kill that a retry answered with another checkout: \(Array(changed.keys.sorted().prefix(5)))")
            let told = Set(answers.values)
            #expect(told.count == answers.count, "two keys were answered with the same checkout")
            do {
                try await Self.eventually("the merchant has exactly the checkouts the buyers were told about", seconds: 240) {
                    Set(receiver.orders.keys.map(Self.checkoutID(ofKey:))) == told
                }
            } catch {
                let merchant = Set(receiver.orders.keys.map(Self.checkoutID(ofKey:)))
                Issue.record(
                    "lost (told, never delivered): \(told.subtracting(merchant).count); phantom (delivered, never told): \(merchant.subtracting(told).count)"
                )
                throw error
            }
            print("kill -9 storm: after the retries \(answers.count) keys, \(told.count) orders; \(answers.count - acceptedByKey.count) answered only after the restart")

            // Nothing was given up on.
            let admin = try await issuer.issue(subject: "ops", role: .admin, streams: [], ttl: 600)
            let letters = try await HTTP.request("GET", port: second.port, path: "/v1/orders/dead-letters", headers: ["Authorization": "Bearer \(admin)"])
            #expect(letters.status == 200)
            #expect((letters.json?["dead_letters"] as? [Any])?.isEmpty == true, "dead letters: \(letters.body)")

            try? FileManager.default.removeItem(atPath: directory)
        } cleanup: {
            // Also after a failure: no gateway outlives the test.
            for gateway in launched.withLockedValue({ $0 }) { gateway.stop() }
            await receiver.stop()
        }
    }

    /// What the storm's buyers were told, shared between their tasks.
    private final class Storm: Sendable {
        let accepted = NIOLockedValueBox<Set<String>>([])
        /// Error replies by code.
        let refused = NIOLockedValueBox<[String: Int]>([:])
        let sent = NIOLockedValueBox(0)
        let stop = NIOLockedValueBox(false)
        /// Idempotency key → the checkout its `checkout.accepted` named.
        let acceptedByKey = NIOLockedValueBox<[String: String]>([:])
        /// Keys each buyer sent: `<buyer>-1` … `<buyer>-<n>`.
        let sentByBuyer = NIOLockedValueBox<[String: Int]>([:])
    }

    /// One buyer of the storm: keeps `window` checkouts in flight on one connection, each
    /// under a fresh idempotency key, until told to stop or until the connection dies (the
    /// kill). Records every `checkout.accepted` it receives; an answer lost with the
    /// connection is not counted.
    private static func stormBuyer(port: Int, token: String, buyer: String, stream: String, product: String, price: Int64, window: Int, storm: Storm) async {
        guard let client = try? await connect(port: port, token: token) else {
            storm.refused.withLockedValue { $0["(could not connect)", default: 0] += 1 }
            return
        }
        var sent = 0
        var outstanding = 0
        do {
            while true {
                while outstanding < window, !storm.stop.withLockedValue({ $0 }) {
                    sent += 1
                    try await client.send(checkoutCommand(id: "k\(sent)", stream: stream, product: product, price: price, key: "\(buyer)-\(sent)"))
                    outstanding += 1
                    storm.sent.withLockedValue { $0 += 1 }
                    storm.sentByBuyer.withLockedValue { [sent] in $0[buyer] = sent }
                }
                guard outstanding > 0 else { break }
                let message = try await client.connection.receive(timeout: .seconds(30))
                switch message["type"]?.stringValue {
                case "checkout.accepted":
                    outstanding -= 1
                    if let checkout = message["checkout_id"]?.stringValue {
                        storm.accepted.withLockedValue { _ = $0.insert(checkout) }
                        if let re = message["re"]?.stringValue, re.hasPrefix("k") {
                            storm.acceptedByKey.withLockedValue { $0["\(buyer)-\(re.dropFirst())"] = checkout }
                        }
                    }
                case "error":
                    // With or without `re` (rate_limited has none), it answers one checkout.
                    outstanding -= 1
                    let code = message["code"]?.stringValue ?? "(no code)"
                    storm.refused.withLockedValue { $0[code, default: 0] += 1 }
                default:
                    continue
                }
            }
        } catch {
            // The gateway was killed (or the reply never came): keep what was accepted.
        }
        await client.socket.abort()
    }

    // MARK: - A merchant down, failing, hanging, then back

    @Test func backendDownThenRecoveredDeliversEverything() async throws {
        let receiver = WebhookReceiver()
        // Bound once only to learn a port the gateway will keep calling; down until phase B.
        try await receiver.start()
        let receiverPort = receiver.port
        await receiver.stop()

        try await Self.withCleanup {
            let server = try await TestGateway.start { configuration in
                // A small timeout so that the hanging phase times out quickly.
                configuration.orders.merchants[Self.merchant] = Self.webhook(to: receiver, timeoutMilliseconds: 200)
                configuration.orders.retry.baseDelayMilliseconds = 20
                configuration.orders.retry.maxDelayMilliseconds = 200
                configuration.orders.retry.maxAttempts = 1_000
                configuration.orders.breakerThreshold = 3
                configuration.orders.breakerCooldownMilliseconds = 100
            }
            try await Self.withCleanup {
                let stream = "recovery"
                try await server.catalog(stream, ["p1"], price: 1_000, stock: 1_000)
                _ = try await server.publish(stream, "product.pinned", ["product": "p1"])
                var buyers: [Buyer] = []
                for index in 0..<3 {
                    let client = try await server.client(.viewer, streams: [stream], sub: "buyer-\(index)")
                    buyers.append(Buyer(sub: "buyer-\(index)", client: client))
                }
                // Each phase adds checkouts, so orders of every phase wait through the later ones.
                func checkoutRound() async throws {
                    for buyer in buyers {
                        for _ in 0..<2 {
                            let reply = try await buyer.checkout(stream: stream, product: "p1", price: 1_000)
                            #expect(reply["type"] == "checkout.accepted", "a checkout is accepted whatever the merchant's state: \(reply)")
                        }
                    }
                }

                // A: connection refused. Checkouts are accepted all the same: they are on
                // disk, not waiting for the merchant.
                try await checkoutRound()
                try await Self.eventually("a delivery fails against the stopped receiver") { Self.deliveries(server, "retried") > 0 }

                // B: the merchant's server is up but answers 500.
                receiver.behave(.fail(status: 500))
                try await receiver.start(port: receiverPort)
                try await checkoutRound()
                try await Self.eventually("the receiver answers a delivery with 500") { !receiver.requests.isEmpty }

                // C: it takes requests and never answers: the gateway's timeout must fire.
                receiver.behave(.hang)
                let requestsBeforeHang = receiver.requests.count
                try await checkoutRound()
                // One key asked for three times since the switch: the second request started
                // in hang mode, and only its timeout can have led to the third (one key is
                // never out twice at once). The first may be a 500 that raced the switch.
                try await Self.eventually("a hanging delivery times out and is tried again") {
                    let keys = receiver.requests.dropFirst(requestsBeforeHang).compactMap(\.idempotencyKey)
                    return Dictionary(keys.map { ($0, 1) }, uniquingKeysWith: +).values.contains { $0 >= 3 }
                }
                #expect(receiver.orders.isEmpty, "nothing can be confirmed before phase D")

                // D: back to normal. Everything accepted arrives, once per key.
                receiver.behave(.confirm)
                let accepted = buyers.flatMap(\.accepted)
                let keys = Set(accepted.map { "\($0):\(Self.merchant)" })
                #expect(accepted.count == 3 * 3 * 2)
                #expect(keys.count == accepted.count, "every checkout has its own id")
                try await Self.eventually("every accepted checkout becomes an order") { keys.isSubset(of: receiver.orders.keys) }
                for buyer in buyers {
                    try await buyer.waitForConfirmations(of: Set(buyer.accepted))
                }

                let orders = receiver.orders
                #expect(Set(orders.keys) == keys, "exactly the accepted checkouts became orders")
                for buyer in buyers {
                    #expect(buyer.failed.isEmpty, "\(buyer.sub) was told of failures: \(buyer.failed)")
                    for checkout in buyer.accepted {
                        let order = orders["\(checkout):\(Self.merchant)"]
                        #expect(order?.body["checkout_id"]?.stringValue == checkout)
                        #expect(order?.body["buyer"]?.stringValue == buyer.sub)
                        // The reference the buyer is told is the merchant's.
                        #expect(buyer.notice("order.confirmed", of: checkout)?["reference"]?.stringValue == order?.reference)
                    }
                }
                #expect(receiver.requests.allSatisfy { $0.signatureValid && $0.timestampFresh })
                #expect(Self.deliveries(server, "retried") > 0)
                // Each order confirmed once from the gateway's side too (a repeat after a
                // timeout is one more attempt, not one more confirmation).
                #expect(Self.deliveries(server, "confirmed") == Double(accepted.count))
                #expect(Self.deliveries(server, "dead_lettered") == 0)
                for buyer in buyers { await buyer.client.close() }
            } cleanup: {
                await server.stop()
            }
        } cleanup: {
            await receiver.stop()
        }
    }

    // MARK: - Dead letter, then re-drive

    @Test func deadLetterAfterTheLimitThenRedrive() async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        receiver.behave(.fail(status: 503))

        try await Self.withCleanup {
            let server = try await TestGateway.start { configuration in
                configuration.orders.merchants[Self.merchant] = Self.webhook(to: receiver)
                configuration.orders.retry.baseDelayMilliseconds = 10
                configuration.orders.retry.maxDelayMilliseconds = 50
                configuration.orders.retry.maxAttempts = 3
                // The circuit stays closed: this test is about the attempt limit.
                configuration.orders.breakerThreshold = 100
            }
            try await Self.withCleanup {
                let stream = "dead-letters"
                try await server.catalog(stream, ["p1"], price: 1_000, stock: 100)
                _ = try await server.publish(stream, "product.pinned", ["product": "p1"])
                let watcher = try await server.client(.viewer, streams: [stream], sub: "watcher")
                let subscribed = try await Self.request(watcher, ["type": "subscribe", "id": "s", "stream": .string(stream)])
                let stockBefore = try #require(subscribed["state"]?["catalog"]?.arrayValue?.first(where: { $0["id"] == "p1" })?["stock"]?.intValue)
                let buyerClient = try await server.client(.viewer, streams: [stream], sub: "unlucky")
                let buyer = Buyer(sub: "unlucky", client: buyerClient)
                let admin = ["Authorization": "Bearer \(try await server.token(.admin, streams: [], sub: "ops"))"]

                let reply = try await buyer.checkout(stream: stream, product: "p1", price: 1_000)
                #expect(reply["type"] == "checkout.accepted")
                let checkoutID = try #require(reply["checkout_id"]?.stringValue)
                let key = "\(checkoutID):\(Self.merchant)"
                // The unit is reserved at once.
                _ = try await Self.read(watcher, "stock.changed to \(stockBefore - 1)") { Self.isStockChange($0, product: "p1", level: stockBefore - 1) }

                // Three attempts, three 503s, then the order is given up on.
                var letter: [String: Any] = [:]
                try await Self.eventually("the order is dead-lettered") {
                    let response = try await HTTP.request("GET", port: server.port, path: "/v1/orders/dead-letters", headers: admin)
                    guard let found = (response.json?["dead_letters"] as? [[String: Any]])?.first(where: { $0["checkout_id"] as? String == checkoutID }) else {
                        return false
                    }
                    letter = found
                    return true
                }
                #expect(letter["merchant"] as? String == Self.merchant)
                #expect(letter["stream"] as? String == stream)
                #expect(letter["buyer"] as? String == "unlucky")
                #expect(letter["attempts"] as? Int == 3)
                let lastError = letter["last_error"] as? String ?? ""
                #expect(lastError.contains("503"), "last_error: \(lastError)")
                #expect(receiver.requests.filter { $0.idempotencyKey == key }.count == 3, "max_attempts 3 means three requests")
                #expect(receiver.orders[key]?.reference == nil)

                // The buyer hears it failed, and the unit comes back for everyone.
                let failed = try await buyer.waitForNotice("order.failed", of: checkoutID)
                #expect(failed["merchant"] == JSONValue.string(Self.merchant))
                #expect(failed["stream"] == JSONValue.string(stream))
                #expect(failed["reason"]?.stringValue?.isEmpty == false)
                // Counted before the buyer was told (checking it earlier would race the relay).
                #expect(Self.deliveries(server, "dead_lettered") == 1)
                _ = try await Self.read(watcher, "stock.changed back to \(stockBefore)") { Self.isStockChange($0, product: "p1", level: stockBefore) }

                // Dead letters are for admins only.
                let viewer = try await server.token(.viewer, streams: [stream], sub: "nosy")
                let forbidden = try await HTTP.request("GET", port: server.port, path: "/v1/orders/dead-letters", headers: ["Authorization": "Bearer \(viewer)"])
                #expect(forbidden.status == 403)

                // The merchant is fixed; the operator re-drives the order and it goes through.
                receiver.behave(.confirm)
                let redriven = try await HTTP.request("POST", port: server.port, path: "/v1/orders/dead-letters/\(checkoutID)/\(Self.merchant)/redrive", headers: admin)
                #expect(redriven.status == 202, "\(redriven.body)")
                #expect(redriven.json?["redriven"] as? Bool == true)
                // Its unit, offered again when it failed, leaves on hand when it is confirmed.
                _ = try await Self.read(watcher, "stock.changed to \(stockBefore - 1) again") { Self.isStockChange($0, product: "p1", level: stockBefore - 1) }
                try await receiver.waitForOrders(atLeast: 1, seconds: 60)
                let order = try #require(receiver.orders[key])
                #expect(order.body["checkout_id"]?.stringValue == checkoutID)
                let confirmed = try await buyer.waitForNotice("order.confirmed", of: checkoutID)
                #expect(confirmed["reference"]?.stringValue == order.reference)

                // Nothing is left to re-drive, and a second re-drive finds nothing.
                let remaining = try await HTTP.request("GET", port: server.port, path: "/v1/orders/dead-letters", headers: admin)
                #expect((remaining.json?["dead_letters"] as? [[String: Any]])?.contains(where: { $0["checkout_id"] as? String == checkoutID }) == false)
                let again = try await HTTP.request("POST", port: server.port, path: "/v1/orders/dead-letters/\(checkoutID)/\(Self.merchant)/redrive", headers: admin)
                #expect(again.status == 404)
                #expect(again.errorCode == "not_found")

                // The late confirmation took the unit off on hand: sold once, never offered again.
                let snapshot = try await HTTP.request("GET", port: server.port, path: "/v1/streams/\(stream)", headers: admin)
                let catalog = (snapshot.json?["state"] as? [String: Any])?["catalog"] as? [[String: Any]]
                #expect(catalog?.first(where: { $0["id"] as? String == "p1" })?["stock"] as? Int == Int(stockBefore - 1))
                try await Self.eventually("the hold settled") {
                    let levels = try await HTTP.request("GET", port: server.port, path: "/v1/merchants/\(Self.merchant)/inventory/p1", headers: admin)
                    let level = (levels.json?["items"] as? [[String: Any]])?.first
                    return level?["pending"] as? Int == 0 && level?["on_hand"] as? Int == Int(stockBefore - 1)
                }

                await watcher.close()
                await buyer.client.close()
            } cleanup: {
                await server.stop()
            }
        } cleanup: {
            await receiver.stop()
        }
    }
}

// MARK: - Helpers

extension OrderReliabilityStorm {
    /// One signed-in buyer on one connection: checks out, and keeps every order result
    /// (`order.confirmed`, `order.failed`, `order.status`) the gateway pushes to it, read
    /// while waiting for anything else.
    fileprivate final class Buyer {
        let sub: String
        let client: TestClient
        /// Checkout ids of the accepted checkouts, in order.
        private(set) var accepted: [String] = []
        private(set) var notices: [[String: JSONValue]] = []
        private var commands = 0

        init(sub: String, client: TestClient) {
            self.sub = sub
            self.client = client
        }

        var confirmed: Set<String> { checkouts(of: "order.confirmed") }
        var failed: Set<String> { checkouts(of: "order.failed") }

        private func checkouts(of type: String) -> Set<String> {
            Set(notices.filter { $0["type"]?.stringValue == type }.compactMap { $0["checkout_id"]?.stringValue })
        }

        func notice(_ type: String, of checkout: String) -> [String: JSONValue]? {
            notices.first { $0["type"]?.stringValue == type && $0["checkout_id"]?.stringValue == checkout }
        }

        /// One unit of `product` at `price` (the price shown), under a fresh key. Returns
        /// the reply: `checkout.accepted` or an `error`.
        func checkout(stream: String, product: String, price: Int64) async throws -> [String: JSONValue] {
            commands += 1
            let id = "k\(commands)"
            try await client.send(OrderReliabilityStorm.checkoutCommand(id: id, stream: stream, product: product, price: price, key: "\(sub)-\(commands)"))
            let reply = try await next("the reply to checkout \(id)", seconds: 30) { $0["re"]?.stringValue == id }
            if reply["type"] == "checkout.accepted", let checkout = reply["checkout_id"]?.stringValue { accepted.append(checkout) }
            return reply
        }

        /// The `type` notice for `checkout`: already received, or the next one.
        func waitForNotice(_ type: String, of checkout: String, seconds: Double = 60) async throws -> [String: JSONValue] {
            if let seen = notice(type, of: checkout) { return seen }
            return try await next("\(type) for \(checkout)", seconds: seconds) {
                $0["type"]?.stringValue == type && $0["checkout_id"]?.stringValue == checkout
            }
        }

        func waitForConfirmations(of checkouts: Set<String>, seconds: Double = 60) async throws {
            guard !checkouts.isSubset(of: confirmed) else { return }
            try await next("order.confirmed for all of \(sub)'s \(checkouts.count) checkouts", seconds: seconds) { _ in
                checkouts.isSubset(of: self.confirmed)
            }
        }

        /// Reads until `match`, noting order results on the way.
        @discardableResult
        private func next(_ what: String, seconds: Double, until match: ([String: JSONValue]) -> Bool) async throws -> [String: JSONValue] {
            try await OrderReliabilityStorm.read(client, what, seconds: seconds) { message in
                if message["type"]?.stringValue?.hasPrefix("order.") == true { notices.append(message) }
                return match(message)
            }
        }
    }

    /// A webhook backend pointing at `receiver`, signed with its secret.
    static func webhook(to receiver: WebhookReceiver, timeoutMilliseconds: Int = 5_000) -> MerchantBackendConfiguration {
        var backend = MerchantBackendConfiguration(kind: .webhook)
        backend.url = receiver.url
        backend.secret = receiver.secret
        backend.timeoutMilliseconds = timeoutMilliseconds
        return backend
    }

    static func checkoutCommand(id: String, stream: String, product: String, price: Int64, key: String) -> [String: JSONValue] {
        [
            "type": "checkout", "id": .string(id), "stream": .string(stream),
            "items": [["product": .string(product), "qty": 1, "price_seen": .int(price)]],
            "region": "FR", "idempotency_key": .string(key),
        ]
    }

    static func publish(_ stream: String, _ kind: String, _ data: [String: JSONValue]) -> [String: JSONValue] {
        ["type": "publish", "id": .string("p-\(kind)"), "stream": .string(stream), "event": ["kind": .string(kind), "data": .object(data)]]
    }

    /// A signed-in session on a gateway process (no `TestGateway` there).
    static func connect(port: Int, token: String) async throws -> TestClient {
        let client = TestClient(connection: try await HawkerConnection.open(host: "127.0.0.1", port: port))
        try await client.connection.connect(token: token)
        return client
    }

    /// Sends a command and returns its reply, skipping pushes meanwhile.
    static func request(_ client: TestClient, _ command: [String: JSONValue]) async throws -> [String: JSONValue] {
        try await client.send(command)
        return try await read(client, "the reply to \(command["type"]?.stringValue ?? "?")", seconds: 30) { $0["re"] == command["id"] }
    }

    /// Reads `client` until a message satisfies `match`; throws once `seconds` have passed.
    /// Every frame goes to the frame log, for the schema check.
    static func read(
        _ client: TestClient, _ what: String, seconds: Double = 60, until match: ([String: JSONValue]) throws -> Bool
    ) async throws -> [String: JSONValue] {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw WaitTimeout(description: "no \(what) within \(Int(seconds)) s") }
            let message: [String: JSONValue]
            do {
                message = try await client.connection.receive(timeout: .milliseconds(Int64(left * 1_000) + 1))
            } catch WebSocketClient.ClientError.timedOut {
                throw WaitTimeout(description: "no \(what) within \(Int(seconds)) s")
            }
            FrameLog.shared.record(message)
            if try match(message) { return message }
        }
    }

    /// Whether `message` is the `stock.changed` event that puts `product` at `level`.
    static func isStockChange(_ message: [String: JSONValue], product: String, level: Int64) -> Bool {
        guard message["type"]?.stringValue == "event", message["kind"]?.stringValue == "stock.changed" else { return false }
        return message["data"]?["product"]?.stringValue == product && message["data"]?["level"]?.intValue == level
    }

    /// Polls `condition` until it holds; throws after `seconds`.
    static func eventually(_ what: String, seconds: Double = 60, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !(try await condition()) {
            guard Date() < deadline else { throw WaitTimeout(description: "gave up after \(Int(seconds)) s waiting for: \(what)") }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    /// Runs `body`, then `cleanup` whether or not it threw: an async `defer`.
    static func withCleanup(_ body: () async throws -> Void, cleanup: () async -> Void) async throws {
        do {
            try await body()
        } catch {
            await cleanup()
            throw error
        }
        await cleanup()
    }

    /// `hawker_order_deliveries_total{outcome="<outcome>"}` from the gateway's metrics.
    static func deliveries(_ server: TestGateway, _ outcome: String) -> Double {
        let series = "hawker_order_deliveries_total{outcome=\"\(outcome)\"} "
        for line in server.metricsText().split(separator: "\n") where line.hasPrefix(series) {
            return Double(line.dropFirst(series.count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }

    /// "ck_…:m1" → "ck_…".
    static func checkoutID(ofKey key: String) -> String {
        let suffix = ":\(merchant)"
        return key.hasSuffix(suffix) ? String(key.dropLast(suffix.count)) : key
    }
}
