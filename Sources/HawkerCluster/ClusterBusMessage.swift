import NIOCore

/// What travels between nodes on their inboxes (`<prefix>:node:<id>`), one Redis message
/// each: a header line, then the body bytes.
///
///     Q <request id> <sender node>\n<body>     a request; the answer goes to the sender's inbox
///     R <request id>\n<body>                   its answer
///     F <request id>\n<reason>                 the handler failed: no answer
///     N <sender node>\n<body>                  a one-way request: run, never answered
enum ClusterBusMessage: Sendable, Equatable {
    case request(id: UInt64, from: String, body: ByteBuffer)
    case notice(from: String, body: ByteBuffer)
    case reply(id: UInt64, body: ByteBuffer)
    case failure(id: UInt64, reason: String)

    init?(_ bytes: ByteBuffer) {
        var bytes = bytes
        guard let newline = bytes.readableBytesView.firstIndex(of: UInt8(ascii: "\n")),
            let header = bytes.readString(length: newline - bytes.readerIndex)
        else { return nil }
        bytes.moveReaderIndex(forwardBy: 1)
        let fields = header.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        if fields.first == "N" {
            guard fields.count >= 2, !fields[1].isEmpty else { return nil }
            self = .notice(from: String(header.dropFirst(2)), body: bytes)
            return
        }
        guard fields.count >= 2, let id = UInt64(fields[1]) else { return nil }
        switch fields[0] {
        case "Q":
            guard fields.count == 3, !fields[2].isEmpty else { return nil }
            self = .request(id: id, from: String(fields[2]), body: bytes)
        case "R" where fields.count == 2:
            self = .reply(id: id, body: bytes)
        case "F" where fields.count == 2:
            self = .failure(id: id, reason: String(buffer: bytes))
        default:
            return nil
        }
    }

    var encoded: ByteBuffer {
        var buffer = ByteBuffer()
        switch self {
        case .request(let id, let from, let body):
            buffer.writeString("Q \(id) \(from)\n")
            buffer.writeImmutableBuffer(body)
        case .notice(let from, let body):
            buffer.writeString("N \(from)\n")
            buffer.writeImmutableBuffer(body)
        case .reply(let id, let body):
            buffer.writeString("R \(id)\n")
            buffer.writeImmutableBuffer(body)
        case .failure(let id, let reason):
            buffer.writeString("F \(id)\n\(reason)")
        }
        return buffer
    }
}
