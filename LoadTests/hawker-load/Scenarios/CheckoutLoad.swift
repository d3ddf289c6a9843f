import ArgumentParser
import Foundation
import HawkerAuth
import HawkerClient
import HawkerProtocol
import Histogram
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What the checkout scenarios share: a stream with one product on a flash sale, buyer
/// connections, and the replies counted with their ack latency.
enum CheckoutLoad {
    // A stream of its own per run, so that runs against one gateway do not meet.
    static let stream = "checkout-load-\(UInt32.random(in: 1...UInt32.max))"
    static let product = "drop"
    static let price: Int64 = 2_500

    /// The host sets a one-product catalog with `units` in stock and starts a sale on it.
    static func openSale(units: Int64, host: String, port: Int, group: any EventLoopGroup, issuer: TokenIssuer) async throws -> HawkerConnection {
        let connection = try await HawkerConnection.open(host: host, port: port, group: group)
        _ = try await connection.connect(token: try await issuer.issue(subject: "load-host", role: .host, streams: [stream], ttl: 3_600))
        let catalog: JSONValue = [["id": .string(product), "title": "Limited drop", "merchant": "m1", "price": 5_000, "currency": "EUR", "stock": .int(units)]]
        for (kind, data) in [
            ("catalog.set", ["products": catalog] as JSONValue),
            ("sale.started", ["sale": "load", "items": [["product": .string(product), "price": .int(price)]], "duration_ms": 3_600_000]),
        ] {
            try await connection.send(["type": "publish", "id": .string(kind), "stream": .string(stream), "event": ["kind": .string(kind), "data": data]])
            let reply = try await connection.receive()
            guard reply["type"] == "published" else { throw ValidationError("\(kind) failed: \(reply)") }
        }
        return connection
    }

    /// The host ends the sale and the stream, so that the gateway can retire the stream
    /// (`hub.stream_retention_ms`) instead of keeping its running sale; best effort.
    static func closeSale(_ connection: HawkerConnection) async {
        for (kind, data) in [("sale.ended", ["sale": "load"] as JSONValue), ("stream.ended", [:])] {
            do {
                try await connection.send(["type": "publish", "id": .string(kind), "stream": .string(stream), "event": ["kind": .string(kind), "data": data]])
                // Pushes to the host (counters, insights) may come first.
                for _ in 0..<1_000 {
                    if try await connection.receive(timeout: .seconds(5))["re"] == .string(kind) { break }
                }
            } catch {
                return
            }
        }
    }

    /// `count` buyers (one token subject each), connected 64 at a time, their replies
    /// diverted to `replies`.
    static func connectBuyers(_ count: Int, host: String, port: Int, group: any EventLoopGroup, issuer: TokenIssuer, replies: CheckoutReplies) async throws -> [Buyer] {
        var buyers: [Buyer] = []
        for start in stride(from: 0, to: count, by: 64) {
            buyers += try await withThrowingTaskGroup(of: Buyer.self) { tasks in
                for index in start..<min(count, start + 64) {
                    tasks.addTask {
                        let connection = try await HawkerConnection.open(host: host, port: port, group: group)
                        _ = try await connection.connect(token: try await issuer.issue(subject: "buyer-\(index)", role: .viewer, streams: [stream], ttl: 3_600))
                        let buyer = Buyer(index: index, connection: connection, replies: replies)
                        try await connection.socket.divertText { buyer.received($0) }
                        return buyer
                    }
                }
                return try await tasks.reduce(into: []) { $0.append($1) }
            }
        }
        return buyers
    }

    /// Counters from the gateway's /metrics (outbox commits and writes), read with an
    /// admin token.
    static func metrics(host: String, port: Int, issuer: TokenIssuer) async throws -> [String: Double] {
        guard let url = URL(string: "http://\(host):\(port)/metrics") else { throw ValidationError("bad gateway address \(host):\(port)") }
        var request = URLRequest(url: url)
        request.setValue("Bearer \(try await issuer.issue(subject: "load-ops", role: .admin, streams: ["*"], ttl: 600))", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else {
            throw ValidationError("GET /metrics answered \((response as? HTTPURLResponse)?.statusCode ?? 0)")
        }
        var values: [String: Double] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("hawker_outbox_") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }
}

/// One buyer connection: sends checkouts with increasing ids and times their replies.
final class Buyer: Sendable {
    let index: Int
    let connection: HawkerConnection
    private let replies: CheckoutReplies
    private let sentAt = NIOLockedValueBox<[UInt64]>([])

    init(index: Int, connection: HawkerConnection, replies: CheckoutReplies) {
        self.index = index
        self.connection = connection
        self.replies = replies
    }

    /// Sends checkout number `n` (ids and keys are this buyer's sequence numbers).
    func checkout(_ n: Int, quantity: Int = 1) async throws {
        let now = NIODeadline.now().uptimeNanoseconds
        sentAt.withLockedValue { times in
            while times.count <= n { times.append(0) }
            times[n] = now
        }
        try await connection.socket.send(
            text: """
                {"type":"checkout","id":"\(n)","stream":"\(CheckoutLoad.stream)","items":[{"product":"\(CheckoutLoad.product)","qty":\(quantity),"price_seen":\(CheckoutLoad.price)}],"region":"DE","idempotency_key":"\(CheckoutLoad.stream)-b\(index)-\(n)"}
                """)
    }

    /// On the connection's event loop.
    func received(_ buffer: ByteBuffer) {
        let now = NIODeadline.now().uptimeNanoseconds
        guard let id = CheckoutReplies.field("re", in: buffer).flatMap(Int.init) else { return }
        let sent = sentAt.withLockedValue { $0.indices.contains(id) ? $0[id] : 0 }
        replies.record(buffer, latencyNanos: sent > 0 ? now - sent : nil)
    }
}

/// Replies to checkouts: accepted, sold out, anything else by code, and ack latency.
final class CheckoutReplies: Sendable {
    struct Snapshot {
        var accepted = 0
        var soldOut = 0
        var other: [String: Int] = [:]
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)

        var answered: Int { accepted + soldOut + other.values.reduce(0, +) }
    }

    private let state = NIOLockedValueBox(Snapshot())
    private static let acceptedPrefix = Array(#"{"type":"checkout.accepted""#.utf8)

    func record(_ buffer: ByteBuffer, latencyNanos: UInt64?) {
        let accepted = buffer.readableBytesView.starts(with: Self.acceptedPrefix)
        let code = accepted ? nil : Self.field("code", in: buffer) ?? "unparsed"
        state.withLockedValue { state in
            if accepted {
                state.accepted += 1
            } else if code == "sold_out" {
                state.soldOut += 1
            } else {
                state.other[code ?? "unparsed", default: 0] += 1
            }
            if let latencyNanos { _ = state.latency.record(latencyNanos) }
        }
    }

    var snapshot: Snapshot { state.withLockedValue { $0 } }

    /// Waits until `count` checkouts were answered, or `seconds` passed.
    func waitForAnswers(_ count: Int, seconds: Int64) async throws {
        let deadline = NIODeadline.now() + .seconds(seconds)
        while snapshot.answered < count, NIODeadline.now() < deadline {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    /// The string value of `"name":"..."` in a reply, without parsing all of it.
    static func field(_ name: String, in buffer: ByteBuffer) -> String? {
        let view = buffer.readableBytesView
        let key = Array("\"\(name)\":\"".utf8)
        var index = view.startIndex
        while let found = view[index...].firstIndex(of: key[0]) {
            if view[found...].starts(with: key) {
                let start = found + key.count
                guard let end = view[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                return String(decoding: view[start..<end], as: UTF8.self)
            }
            index = view.index(after: found)
        }
        return nil
    }
}
