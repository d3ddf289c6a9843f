import NIOCore
import NIOHTTP1

/// Recognises the request a browser or WebSocket library sends to open a connection, so
/// that the common handshake needs no HTTP pipeline (`FastUpgradeHandler`).
///
/// It decides only what NIO's HTTP/1.1 parser would surely read the same way, up to the
/// same byte: `GET`, an origin-form target, `HTTP/1.1`, header lines of visible ASCII with
/// token names and no spaces after the value, no body (no framing, or `Content-Length: 0`),
/// exactly one `Upgrade: websocket`, and `upgrade` among the `Connection` tokens (spaces
/// and commas between them only). Everything else (other requests, unusual spellings,
/// anything malformed) is `notRecognised` and goes to NIO's parser, which answers it as
/// it always has. Each line is checked when its CRLF arrives and the scan resumes where
/// the previous call stopped: a request arriving a byte at a time costs one pass, and the
/// scanner gives up at the first line that cannot belong to such a request, as NIO's
/// parser would refuse it there.
struct UpgradeRequestScanner {
    enum Outcome: Equatable {
        /// Still a possible upgrade request, not complete yet.
        case needMore
        /// For NIO's HTTP parser.
        case notRecognised
        /// The request's head and the bytes it took (what follows is WebSocket frames).
        case upgrade(HTTPRequestHead, length: Int)
    }

    /// Longer heads go to NIO's parser (browsers send well under 2 KiB).
    static let maxHeadBytes = 8_192
    /// More header lines go to NIO's parser.
    static let maxHeaders = 64

    /// Bytes already checked, from the start of the request.
    private var scanned = 0
    /// Where the line being read starts.
    private var lineStart = 0
    /// The request target, once the request line was read.
    private var target: Range<Int>?
    /// The header lines read so far.
    private var fields: [(name: Range<Int>, value: Range<Int>)] = []

    /// Scans `buffer`'s readable bytes: the whole request so far, from its first byte.
    mutating func scan(_ buffer: ByteBuffer) -> Outcome {
        buffer.withUnsafeReadableBytes { bytes in scan(bytes) }
    }

    private mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        let prefix: StaticString = "GET /"
        for index in 0..<min(bytes.count, prefix.utf8CodeUnitCount) where bytes[index] != prefix.utf8Start[index] {
            return .notRecognised
        }
        var index = scanned
        while index < bytes.count {
            let byte = bytes[index]
            if byte == .lf {
                // Lines end in CRLF; a bare LF is for the strict parser to judge.
                guard index > 0, bytes[index - 1] == .cr else { return .notRecognised }
                let line = lineStart..<(index - 1)
                lineStart = index + 1
                if line.isEmpty {
                    return head(bytes, length: index + 1)
                }
                guard readLine(bytes, line) else { return .notRecognised }
            } else if index > 0, bytes[index - 1] == .cr {
                return .notRecognised  // a CR not followed by LF
            } else if byte != .cr, byte != .tab, !(0x20...0x7E).contains(byte) {
                return .notRecognised
            }
            index += 1
        }
        scanned = bytes.count
        return bytes.count >= Self.maxHeadBytes ? .notRecognised : .needMore
    }

    /// Reads a complete line (without its CRLF): the request line first, then header lines.
    private mutating func readLine(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> Bool {
        if target == nil {
            target = Self.requestTarget(bytes, line)
            return target != nil
        }
        guard fields.count < Self.maxHeaders, let field = Self.field(bytes, line) else { return false }
        fields.append(field)
        return true
    }

    /// The request's head once its blank line arrived, if it is a plain upgrade request.
    private func head(_ bytes: UnsafeRawBufferPointer, length: Int) -> Outcome {
        guard length <= Self.maxHeadBytes, let target else { return .notRecognised }
        func text(_ range: Range<Int>) -> String {
            String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        }
        var headers: [(String, String)] = []
        headers.reserveCapacity(fields.count)
        var upgrades = 0
        var contentLengths = 0
        var connectionUpgrade = false
        for (nameRange, valueRange) in fields {
            let name = text(nameRange)
            let value = text(valueRange)
            switch name.lowercased() {
            case "content-length":
                // NIO's WebSocket client sends `Content-Length: 0`; any other body framing
                // on an upgrade request is for NIO's parser to judge.
                contentLengths += 1
                guard contentLengths == 1, value == "0" else { return .notRecognised }
            case "transfer-encoding":
                return .notRecognised
            case "upgrade":
                upgrades += 1
                guard value.lowercased() == "websocket" else { return .notRecognised }
            case "connection":
                // NIO's parser reads Connection's tokens with spaces between them only: a
                // tab there ends its reading, and it would not see the upgrade.
                guard value.utf8.allSatisfy({ Self.isTokenByte($0) || $0 == .space || $0 == .comma }) else { return .notRecognised }
                if value.split(separator: ",").contains(where: { $0.trimmingSpaces.lowercased() == "upgrade" }) {
                    connectionUpgrade = true
                }
            default:
                break
            }
            headers.append((name, value))
        }
        guard upgrades == 1, connectionUpgrade else { return .notRecognised }
        return .upgrade(HTTPRequestHead(version: .http1_1, method: .GET, uri: text(target), headers: HTTPHeaders(headers)), length: length)
    }

    /// `GET <origin-form target> HTTP/1.1`: the target's range, or nil.
    private static func requestTarget(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> Range<Int>? {
        let version: StaticString = " HTTP/1.1"
        let suffix = version.utf8CodeUnitCount
        // "GET /" was checked by the scan; the target runs from the "/" to the version.
        guard line.count > 4 + suffix else { return nil }
        for index in 0..<suffix where bytes[line.upperBound - suffix + index] != version.utf8Start[index] {
            return nil
        }
        let target = (line.lowerBound + 4)..<(line.upperBound - suffix)
        guard bytes[target].allSatisfy(isTargetByte) else { return nil }
        return target
    }

    /// `name: value`, the name a token, the spaces and tabs before the value left out.
    /// Spaces or tabs after it: nil (whether NIO's parser keeps them in the value depends
    /// on the header and its state; browsers send none). A line starting with SP or HTAB
    /// continues the previous one (obsolete folding): not a token, so nil too.
    private static func field(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> (name: Range<Int>, value: Range<Int>)? {
        guard let colon = bytes[line].firstIndex(of: .colon), colon > line.lowerBound else { return nil }
        let name = line.lowerBound..<colon
        guard bytes[name].allSatisfy(isTokenByte) else { return nil }
        var start = colon + 1
        while start < line.upperBound, bytes[start] == .space || bytes[start] == .tab { start += 1 }
        if start < line.upperBound, bytes[line.upperBound - 1] == .space || bytes[line.upperBound - 1] == .tab { return nil }
        return (name, start..<line.upperBound)
    }

    /// RFC 9110 §5.6.2 tchar.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// RFC 3986 unreserved, reserved (less "#") and "%": an origin-form path and query.
    private static func isTargetByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "-._~:/?[]@!$&'()*+,;=%".utf8.contains(byte)
        }
    }
}

extension UInt8 {
    fileprivate static let cr = UInt8(ascii: "\r")
    fileprivate static let lf = UInt8(ascii: "\n")
    fileprivate static let space = UInt8(ascii: " ")
    fileprivate static let tab = UInt8(ascii: "\t")
    fileprivate static let colon = UInt8(ascii: ":")
    fileprivate static let comma = UInt8(ascii: ",")
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var result = self
        while result.first == " " { result.removeFirst() }
        while result.last == " " { result.removeLast() }
        return result
    }
}
