import Foundation
import HawkerClient
import HawkerProtocol
import NIOConcurrencyHelpers
import NIOCore

/// A hawker.v1 client for tests. Every frame it receives is also appended to the file
/// named by `HAWKER_FRAME_LOG`, so CI can validate real server output against
/// Protocol/schemas.
struct TestClient: Sendable {
    let connection: HawkerConnection

    var socket: WebSocketClient { connection.socket }

    func send(_ object: [String: JSONValue]) async throws {
        try await connection.send(object)
    }

    /// The next message, skipping ambient pushes (presence, questions.top, ...) unless
    /// `type` names the one wanted.
    func receive(_ type: String? = nil) async throws -> [String: JSONValue] {
        while true {
            let message = try await connection.receive()
            FrameLog.shared.record(message)
            let received = message["type"]?.stringValue ?? ""
            if received != type, ServerMessage.ambientPushTypes.contains(received) { continue }
            return message
        }
    }

    /// Sends a command and returns its reply (the message whose `re` is the command's
    /// `id`), skipping what arrives meanwhile.
    func request(_ command: [String: JSONValue]) async throws -> [String: JSONValue] {
        try await send(command)
        while true {
            let message = try await receive()
            if message["re"] == command["id"] { return message }
        }
    }

    /// Sends a command and returns its reply and the first push of `type` it causes, in
    /// whichever order they arrive: an event fanned out from another event loop may
    /// overtake the reply to the command that published it.
    func request(_ command: [String: JSONValue], alsoAwaiting type: String) async throws -> (reply: [String: JSONValue], push: [String: JSONValue]) {
        try await send(command)
        var reply: [String: JSONValue]?
        var push: [String: JSONValue]?
        while reply == nil || push == nil {
            let message = try await receive(type)
            if message["re"] == command["id"] {
                reply = message
            } else if push == nil, message["type"]?.stringValue == type {
                push = message
            }
        }
        return (reply!, push!)
    }

    /// The next message of `type`, skipping any other.
    func next(_ type: String) async throws -> [String: JSONValue] {
        while true {
            let message = try await receive(type)
            if message["type"]?.stringValue == type { return message }
        }
    }

    /// Reads until a close frame; returns its code (messages before it are recorded).
    func closeCode() async throws -> UInt16? {
        while true {
            do {
                _ = try await receive()
            } catch HawkerConnection.ConnectionError.closed(let code, _) {
                return code
            }
        }
    }

    func close() async {
        await socket.close()
    }
}

final class FrameLog: Sendable {
    static let shared = FrameLog(path: ProcessInfo.processInfo.environment["HAWKER_FRAME_LOG"])

    private let handle: NIOLockedValueBox<FileHandle?>

    init(path: String?) {
        guard let path else {
            handle = NIOLockedValueBox(nil)
            return
        }
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        let file = FileHandle(forWritingAtPath: path)
        file?.seekToEndOfFile()
        handle = NIOLockedValueBox(file)
    }

    func record(_ message: [String: JSONValue]) {
        handle.withLockedValue { file in
            guard let file, var line = try? JSONEncoder().encode(JSONValue.object(message)) else { return }
            line.append(UInt8(ascii: "\n"))
            file.write(line)
        }
    }
}
