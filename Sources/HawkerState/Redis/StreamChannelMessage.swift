import Foundation
import HawkerCommerce
import HawkerProtocol

/// What a stream's channel (`p:s:{id}:ch`) carries to the nodes with its viewers, published
/// by `RedisStateStore` in the same script that stores the change (so a message is never
/// seen for a change that was not kept, nor missed for one that was, while subscribed).
///
/// Text header, newline, then the body: `E<seq> <timestamp>\n<event JSON>` for an event,
/// `C<epoch>\n` when the stream begins again, `X\n` when it ends (archived or removed),
/// and `P<e|s> <items> <coalescing key>\n<push JSON>` for a room's push to everyone or
/// staff (published by the node running the stream, not by the store).
public enum StreamChannelMessage: Sendable, Hashable {
    case event(StoredEvent)
    case created(epoch: String)
    case ended
    case push(StreamPush)

    /// The channel of a stream.
    public static func channel(_ stream: StreamID, prefix: String) -> String {
        prefix + ":s:{" + stream.rawValue + "}:ch"
    }

    public init?(_ bytes: some Collection<UInt8>) {
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let header = String(decoding: bytes[..<newline], as: UTF8.self)
        let body = bytes[bytes.index(after: newline)...]
        switch header.first {
        case "E":
            let numbers = header.dropFirst().split(separator: " ")
            guard numbers.count == 2, let seq = UInt64(numbers[0]), let timestamp = Int64(numbers[1]) else { return nil }
            self = .event(StoredEvent(seq: seq, timestamp: timestamp, payload: Data(body)))
        case "C":
            self = .created(epoch: String(header.dropFirst()))
        case "X":
            self = .ended
        case "P":
            let fields = header.dropFirst().split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, let items = Int(fields[1]), items >= 0 else { return nil }
            let audience: Audience
            switch fields[0] {
            case "e": audience = .everyone
            case "s": audience = .staff
            default: return nil
            }
            self = .push(StreamPush(audience: audience, coalescingKey: fields[2].isEmpty ? nil : String(fields[2]), itemCount: items, payload: Data(body)))
        default:
            return nil
        }
    }

    public var encoded: [UInt8] {
        switch self {
        case .event(let event): Array("E\(event.seq) \(event.timestamp)\n".utf8) + event.payload
        case .created(let epoch): Array("C\(epoch)\n".utf8)
        case .ended: Array("X\n".utf8)
        case .push(let push):
            Array("P\(push.audience == .staff ? "s" : "e") \(push.itemCount) \(push.coalescingKey ?? "")\n".utf8) + push.payload
        }
    }
}
