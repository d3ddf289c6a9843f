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
        let fields: [String: JSONValue]
        do {
            // Fields are checked one by one (not by a typed Decodable), so that an
            // ill-typed field still leaves a usable `id` for the error's `re`.
            fields = try JSONDecoder().decode([String: JSONValue].self, from: Data(buffer.readableBytesView))
        } catch {
            throw CommandDecodingError(id: nil, code: .badRequest, message: "frame is not a JSON object")
        }
        return try RawCommand(fields: fields).command()
    }
}

/// The fields of a command object; `command()` checks which ones each type needs and
/// their types.
private struct RawCommand {
    var fields: [String: JSONValue]

    /// A field's value; `null` counts as absent.
    private func field(_ name: String) -> JSONValue? {
        guard let value = fields[name], value != .null else { return nil }
        return value
    }

    func command() throws(CommandDecodingError) -> ClientCommand {
        // Lengths count Unicode code points (PROTOCOL.md §2).
        guard let id = field("id")?.stringValue, (1...64).contains(id.unicodeScalars.count) else {
            throw CommandDecodingError(id: nil, code: .badRequest, message: "every command needs an 'id': a string of 1-64 characters")
        }
        func fail(_ code: ErrorCode, _ message: String) -> CommandDecodingError {
            CommandDecodingError(id: id, code: code, message: message)
        }
        guard let type = field("type")?.stringValue else { throw fail(.badRequest, "every command needs a 'type' string") }
        func optionalString(_ name: String) throws(CommandDecodingError) -> String? {
            guard let value = field(name) else { return nil }
            guard let text = value.stringValue else { throw fail(.badRequest, "'\(name)' must be a string") }
            return text
        }
        func streamID() throws(CommandDecodingError) -> StreamID {
            guard let stream = try optionalString("stream") else { throw fail(.badRequest, "'\(type)' needs a 'stream'") }
            guard let streamID = StreamID(stream) else {
                throw fail(.invalidStream, "stream ids are 1-64 characters of [A-Za-z0-9_.-], starting alphanumeric")
            }
            return streamID
        }
        switch type {
        case "connect":
            return .connect(id: id, token: try optionalString("token"))
        case "subscribe":
            let stream = try streamID()
            var position: StreamPosition?
            if let since = field("since") {
                guard let object = since.objectValue, let epoch = object["epoch"]?.stringValue, epoch.unicodeScalars.count <= 64,
                    let seq = object["seq"]?.intValue, seq >= 0
                else {
                    throw fail(.badRequest, "'since' needs an epoch string and a seq >= 0")
                }
                position = StreamPosition(epoch: epoch, seq: UInt64(seq))
            }
            return .subscribe(id: id, stream: stream, since: position)
        case "unsubscribe":
            return .unsubscribe(id: id, stream: try streamID())
        case "publish":
            let stream = try streamID()
            guard let event = field("event")?.objectValue, let kind = event["kind"]?.stringValue else {
                throw fail(.badRequest, "'publish' needs an 'event' {kind, data}")
            }
            let data = event["data"]
            if let data, data.objectValue == nil { throw fail(.badRequest, "'event.data' must be an object") }
            do {
                return .publish(id: id, stream: stream, event: try EventDraft(kindName: kind, data: data))
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
