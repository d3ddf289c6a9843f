import Foundation
import HawkerProtocol

/// What a stream's channel (`p:s:{id}:ch`) carries to the nodes with its viewers, published
/// by `RedisStateStore` in the same script that stores the change (so a message is never
/// seen for a change that was not kept, nor missed for one that was, while subscribed).
///
/// Text header, newline, then the body: `E<seq> <timestamp>\n<event JSON>` for an event,
/// `C<epoch>\n` when the stream begins again, `X\n` when it ends (archived or removed).
public enum StreamChannelMessage: Sendable, Hashable {
    case event(StoredEvent)
    case created(epoch: String)
    case ended

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
        default:
            return nil
        }
    }

    public var encoded: [UInt8] {
        switch self {
        case .event(let event): Array("E\(event.seq) \(event.timestamp)\n".utf8) + event.payload
        case .created(let epoch): Array("C\(epoch)\n".utf8)
        case .ended: Array("X\n".utf8)
        }
    }
}
