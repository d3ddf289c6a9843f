import struct Foundation.Data
import class Foundation.JSONDecoder
import NIOCore

/// A command a client sends, decoded and checked for shape (not for permission).
public enum ClientCommand: Sendable, Hashable {
    case connect(id: String, token: String?)
    case subscribe(id: String, stream: StreamID, since: StreamPosition?)
    case unsubscribe(id: String, stream: StreamID)
    case publish(id: String, stream: StreamID, event: EventDraft)
    case ping(id: String)

    public var id: String {
        switch self {
        case .connect(let id, _), .subscribe(let id, _, _), .unsubscribe(let id, _), .publish(let id, _, _), .ping(let id):
            return id
        }
    }
}

/// Why a frame could not become a command; `id` is set when the frame had a usable one,
/// so the error reply can carry `re`.
public struct CommandDecodingError: Error, Sendable, Hashable {
    public let id: String?
    public let code: ErrorCode
    public let message: String
}

extension ClientCommand {
    /// The nesting limit for a whole command frame.
    public static let maxDepth = 16

    /// Decodes one text frame. Never throws anything but `CommandDecodingError`.
    public static func decode(_ buffer: ByteBuffer) throws(CommandDecodingError) -> ClientCommand {
        guard JSONDepthScanner.depthIsWithin(buffer.readableBytesView, limit: maxDepth) else {
            throw CommandDecodingError(id: nil, code: .badRequest, message: "JSON nests deeper than \(maxDepth) levels")
        }
        let raw: RawCommand
        do {
            raw = try JSONDecoder().decode(RawCommand.self, from: Data(buffer.readableBytesView))
        } catch {
            throw CommandDecodingError(id: nil, code: .badRequest, message: "frame is not a JSON object of the expected shape")
        }
        return try raw.command()
    }
}

/// Every field any command may carry; `command()` checks which ones each type needs.
private struct RawCommand: Decodable {
    var type: String?
    var id: String?
    var token: String?
    var stream: String?
    var since: RawPosition?
    var event: RawEvent?

    struct RawPosition: Decodable {
        var epoch: String
        var seq: Int64
    }

    struct RawEvent: Decodable {
        var kind: String
        var data: JSONValue?
    }

    func command() throws(CommandDecodingError) -> ClientCommand {
        guard let id, (1...64).contains(id.utf8.count) else {
            throw CommandDecodingError(id: nil, code: .badRequest, message: "every command needs an 'id': a string of 1-64 characters")
        }
        func fail(_ code: ErrorCode, _ message: String) -> CommandDecodingError {
            CommandDecodingError(id: id, code: code, message: message)
        }
        func streamID() throws(CommandDecodingError) -> StreamID {
            guard let stream else { throw fail(.badRequest, "'\(type ?? "")' needs a 'stream'") }
            guard let streamID = StreamID(stream) else {
                throw fail(.invalidStream, "stream ids are 1-64 characters of [A-Za-z0-9_.-], starting alphanumeric")
            }
            return streamID
        }
        guard let type else { throw fail(.badRequest, "every command needs a 'type'") }
        switch type {
        case "connect":
            return .connect(id: id, token: token)
        case "subscribe":
            let stream = try streamID()
            var position: StreamPosition?
            if let since {
                guard since.seq >= 0, since.epoch.utf8.count <= 64 else {
                    throw fail(.badRequest, "'since' needs an epoch string and a seq >= 0")
                }
                position = StreamPosition(epoch: since.epoch, seq: UInt64(since.seq))
            }
            return .subscribe(id: id, stream: stream, since: position)
        case "unsubscribe":
            return .unsubscribe(id: id, stream: try streamID())
        case "publish":
            let stream = try streamID()
            guard let event else { throw fail(.badRequest, "'publish' needs an 'event' {kind, data}") }
            do {
                return .publish(id: id, stream: stream, event: try EventDraft(kindName: event.kind, data: event.data))
            } catch {
                throw fail(error.code, error.message)
            }
        case "ping":
            return .ping(id: id)
        default:
            throw fail(.unknownCommand, "unknown command type '\(type.prefix(64))'")
        }
    }
}
