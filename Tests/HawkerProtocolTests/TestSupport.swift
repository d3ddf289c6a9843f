import Foundation
import HawkerProtocol
import NIOCore

/// Decodes one frame and returns the decoding error, or nil when it decoded.
func decodeError(_ text: String) -> CommandDecodingError? {
    do {
        _ = try ClientCommand.decode(ByteBuffer(string: text))
        return nil
    } catch {
        return error
    }
}

/// Decodes one frame that is expected to be valid.
func decode(_ text: String) throws -> ClientCommand {
    try ClientCommand.decode(ByteBuffer(string: text))
}

/// Parses an encoded server message back into a JSON object.
func parseObject(_ buffer: ByteBuffer) throws -> [String: JSONValue] {
    try JSONDecoder().decode([String: JSONValue].self, from: Data(buffer.readableBytesView))
}

func stream(_ raw: String) -> StreamID {
    StreamID(raw)!
}
