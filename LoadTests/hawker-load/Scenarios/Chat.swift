import ArgumentParser
import Foundation
import HawkerAuth
import HawkerClient
import HawkerProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// M senders chat into one stream at a fixed total rate while V viewers receive the
/// batches: how many messages the gateway accepts per second, and what it costs.
struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Chat: senders, viewers, accepted messages/s and batches out.")

    @OptionGroup var gateway: GatewayOptions
    @Option(help: "Sender connections (one user each).") var senders = 100
    @Option(help: "Viewer connections receiving the batches.") var viewers = 1_000
    @Option(help: "Chat messages per second offered, over all senders (open loop).") var rate = 10_000
    @Option(help: "Seconds to send for.") var duration = 10
    @Flag(help: "Send chat.send without an id (fire and forget: no reply unless refused); accepted messages are then counted from the stream's message ids, by a probe with an id before and after.")
    var withoutID = false

    func run() async throws {
        let (host, port) = try gateway.endpoint
        let secret = try gateway.signingSecret
        let group = MultiThreadedEventLoopGroup(numberOfThreads: gateway.threads)
        let issuer = await TokenIssuer(hmacSecret: secret)
        let stream = "chat-load"

        let hostConnection = try await HawkerConnection.open(host: host, port: port, group: group)
        try await hostConnection.connect(token: try await issuer.issue(subject: "load-host", role: .host, streams: [stream], ttl: 3_600))
        try await hostConnection.send(["type": "publish", "id": "start", "stream": .string(stream), "event": ["kind": "stream.started", "data": [:]]])
        _ = try await hostConnection.receive()

        let received = ChatCounters()
        progress("connecting \(viewers) viewers")
        // One user per viewer, as in production (per-user quotas apply per token subject).
        let viewerTokens = try await ViewerTokens(secret: try gateway.signingSecret).sign(first: 0, count: viewers)
        var connections: [HawkerConnection] = []
        for start in stride(from: 0, to: viewers, by: 64) {
            connections += try await withThrowingTaskGroup(of: HawkerConnection.self) { tasks in
                for index in start..<min(viewers, start + 64) {
                    let viewerToken = viewerTokens[index]
                    tasks.addTask {
                        let connection = try await HawkerConnection.open(host: host, port: port, group: group)
                        try await connection.connect(token: viewerToken)
                        try await connection.send(["type": "subscribe", "id": "s", "stream": .string(stream)])
                        let reply = try await connection.receive()
                        guard reply["type"] == "subscribed" else { throw ValidationError("subscribe failed: \(reply)") }
                        try await connection.socket.divertText { received.viewerReceived($0) }
                        return connection
                    }
                }
                return try await tasks.reduce(into: []) { $0.append($1) }
            }
        }
        progress("connecting \(senders) senders")
        var senderConnections: [HawkerConnection] = []
        for index in 0..<senders {
            let connection = try await HawkerConnection.open(host: host, port: port, group: group)
            try await connection.connect(token: try await issuer.issue(subject: "sender-\(index)", role: .viewer, streams: [stream], ttl: 3_600))
            try await connection.socket.divertText { received.senderReceived($0) }
            senderConnections.append(connection)
        }

        // Fire and forget: the stream numbers accepted messages (m1, m2, ...), so a probe
        // with an id before and one after tell how many were accepted between them.
        let probe = senderConnections[0]
        func probeNumber(_ id: String) async throws -> Int {
            try await probe.socket.send(text: #"{"type":"chat.send","id":"\#(id)","stream":"\#(stream)","text":"\#(id)"}"#)
            let deadline = NIODeadline.now() + .seconds(30)
            while received.snapshot.probes[id] == nil, NIODeadline.now() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
            guard let number = received.snapshot.probes[id], number > 0 else { throw ValidationError("the chat probe \(id) was not accepted") }
            return number
        }
        let firstNumber = withoutID ? try await probeNumber("probe-first") : 0
        let before = gateway.serverStats()
        let perSender = max(1, rate / senders)
        let total = perSender * senders * duration
        progress("offering \(perSender * senders) messages/s for \(duration) s")
        // Mostly chatter, one question in ten, as in a busy show.
        let phrases = [
            "love this colour", "just ordered two!", "the lining looks great", "hi from Lyon", "that price though",
            "obsessed with the boots", "does it come in blue", "need this for winter", "wow so soft", "adding to cart now",
        ]
        let start = NIODeadline.now()
        let senderCount = senderConnections.count
        let duration = self.duration
        let withoutID = self.withoutID
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for (index, connection) in senderConnections.enumerated() {
                tasks.addTask {
                    let interval = 1_000_000_000 / Int64(perSender)
                    // Senders start staggered so that the offered load is smooth.
                    let offset = Int64(index) * interval / Int64(senderCount)
                    for n in 0..<(perSender * duration) {
                        let slot = start + .nanoseconds(offset + Int64(n) * interval)
                        let wait = slot - NIODeadline.now()
                        if wait > .zero { try await Task.sleep(nanoseconds: UInt64(wait.nanoseconds)) }
                        let text = "\(phrases[(index + n) % phrases.count]) \(n)"
                        let id = withoutID ? "" : #""id":"\#(n)","#
                        try await connection.socket.send(text: #"{"type":"chat.send",\#(id)"stream":"\#(stream)","text":"\#(text)"}"#)
                    }
                }
            }
            try await tasks.waitForAll()
        }
        let sendSeconds = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        // Replies still in flight, and the last tick's batch.
        let deadline = NIODeadline.now() + .seconds(10)
        while !withoutID, received.snapshot.replies < total, NIODeadline.now() < deadline {
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        try await Task.sleep(nanoseconds: 500_000_000)
        let after = gateway.serverStats()
        var counts = received.snapshot
        if withoutID {
            // Accepted between the probes (within half a second of the last send); a
            // refusal still comes as an error. Not answered: what the gateway had not
            // taken in by then.
            let lastNumber = try await probeNumber("probe-last")
            counts = received.snapshot
            counts.accepted = max(0, lastNumber - firstNumber - 1)
            counts.replies = min(total, counts.accepted + counts.refused)
        }
        var result = LoadResult(scenario: "chat")
        result.parameter("senders", "senders", Double(senders))
        result.parameter("viewers", "viewers", Double(viewers))
        result.parameter("rate", "offered messages/s", Double(perSender * senders))
        result.parameter("duration", "duration", Double(duration), unit: "s")
        result.parameter("without_id", "sent without id (no replies)", withoutID ? 1 : 0)
        result.figure("accepted_per_second", "accepted messages/s", Double(counts.accepted) / sendSeconds, unit: "/s", .higherIsBetter)
        result.figure("accepted", "accepted", Double(counts.accepted), unit: "", .higherIsBetter)
        result.figure("refused", "refused", Double(counts.refused), unit: "", .lowerIsBetter)
        result.figure("unanswered", "unanswered", Double(total - counts.replies), unit: "", .lowerIsBetter)
        result.figure("batches_per_viewer_per_second", "chat batches per viewer per second", Double(counts.batches) / Double(max(1, viewers)) / sendSeconds, unit: "/s", .neutral)
        result.figure("messages_shown_per_viewer", "messages shown per viewer", Double(counts.messagesShown) / Double(max(1, viewers)), unit: "", .neutral)
        result.figure(
            "server_cpu_us_per_message", "server CPU per accepted message", before.flatMap { before in after.map { ($0.cpuMicroseconds - before.cpuMicroseconds) / Double(max(1, counts.accepted)) } },
            unit: "µs", .lowerIsBetter)
        result.figure("server_rss_kib", "server RSS", after.map { Double($0.residentBytes) / 1024 }, unit: "KiB", .lowerIsBetter)
        if total - counts.replies > 0 { result.failures.append("\(total - counts.replies) chat messages unanswered") }
        for connection in connections + senderConnections { await connection.socket.abort() }
        await hostConnection.socket.abort()
        try await group.shutdownGracefully()
        try finish(result, json: gateway.json)
    }
}

/// Counted on the connections' event loops; read at the end.
final class ChatCounters: Sendable {
    struct Snapshot {
        var replies = 0
        var accepted = 0
        var refused = 0
        var batches = 0
        var messagesShown = 0
        /// Replies to the probes (ids `probe-…`): the number in the accepted message's id
        /// (`m<number>`), or 0 when refused.
        var probes: [String: Int] = [:]
    }

    private let state = NIOLockedValueBox(Snapshot())
    private static let acceptedPrefix = Array(#"{"type":"chat.accepted""#.utf8)
    private static let batchPrefix = Array(#"{"type":"chat","#.utf8)
    private static let messageKey = Array(#""ts":"#.utf8)
    private static let messageIDKey = Array(#""id":"m"#.utf8)
    private static let errorPrefix = Array(#"{"type":"error""#.utf8)
    private static let probeKey = Array(#","re":"probe-"#.utf8)

    func senderReceived(_ buffer: ByteBuffer) {
        let view = buffer.readableBytesView
        let accepted = view.starts(with: Self.acceptedPrefix)
        // A probe's reply: its id, and the accepted message's number (0 if refused). The
        // `re` follows the type: looked for there only, since a search through every
        // reply cost the generator a sixth of its core at 50,000 replies/s.
        var probe: (id: String, number: Int)?
        let typeLength = accepted ? Self.acceptedPrefix.count : view.starts(with: Self.errorPrefix) ? Self.errorPrefix.count : nil
        if let typeLength, view.dropFirst(typeLength).starts(with: Self.probeKey) {
            let idStart = view.index(view.startIndex, offsetBy: typeLength + 7)  // after ,"re":"
            let idEnd = view[idStart...].firstIndex(of: UInt8(ascii: "\"")) ?? view.endIndex
            var number = 0
            if accepted, let key = view.firstRange(of: Self.messageIDKey) {
                var digit = key.upperBound
                while digit < view.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(view[digit]) {
                    number = number * 10 + Int(view[digit] - UInt8(ascii: "0"))
                    digit = view.index(after: digit)
                }
            }
            probe = (String(decoding: view[idStart..<idEnd], as: UTF8.self), number)
        }
        state.withLockedValue {
            $0.replies += 1
            if accepted { $0.accepted += 1 } else { $0.refused += 1 }
            if let probe { $0.probes[probe.id] = probe.number }
        }
    }

    /// Counts batches and the messages in them (each message has one `ts`), without parsing.
    func viewerReceived(_ buffer: ByteBuffer) {
        let view = buffer.readableBytesView
        guard view.starts(with: Self.batchPrefix) else { return }
        var messages = 0
        var index = view.startIndex
        let key = Self.messageKey
        while let found = view[index...].firstIndex(of: key[0]) {
            if view[found...].starts(with: key) { messages += 1 }
            index = view.index(after: found)
        }
        state.withLockedValue {
            $0.batches += 1
            $0.messagesShown += messages
        }
    }

    var snapshot: Snapshot { state.withLockedValue { $0 } }
}
