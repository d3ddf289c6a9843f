import NIOCore
import NIOHTTP1

/// Recognises the request a browser or WebSocket library sends to open a connection, so
/// that the common handshake needs no HTTP pipeline (`FastUpgradeHandler`).
///
/// It decides only what NIO's HTTP/1.1 parser would surely read the same way: `GET`, an
/// origin-form target, `HTTP/1.1`, header lines of visible ASCII with token names and no
/// spaces after the value, no body (no framing, or `Content-Length: 0`), exactly one `Upgrade: websocket` and `upgrade` among the `Connection`
/// tokens. Everything else (other requests, unusual spellings, anything malformed) is
/// `notRecognised` and goes to NIO's parser, which answers it as it always has. The scan
/// resumes where the previous call stopped, so a request arriving a byte at a time costs
/// one pass, and it gives up as soon as the bytes cannot be such a request.
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

    /// Scans `buffer`'s readable bytes: the whole request so far, from its first byte.
    mutating func scan(_ buffer: ByteBuffer) -> Outcome {
        buffer.withUnsafeReadableBytes { bytes in scan(bytes) }
    }

    private mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        let prefix: StaticString = "GET /"
        for index in 0..<min(bytes.count, prefix.utf8CodeUnitCount) where bytes[index] != prefix.utf8Start[index] {
            return .notRecognised
        }
        var end: Int?
        var index = scanned
        while index < bytes.count {
            let byte = bytes[index]
            if byte == .lf {
                // Lines end in CRLF; a bare LF is for the strict parser to judge.
                guard index > 0, bytes[index - 1] == .cr else { return .notRecognised }
                if index >= 3, bytes[index - 2] == .lf, bytes[index - 3] == .cr {
                    end = index + 1
                    break
                }
            } else if index > 0, bytes[index - 1] == .cr {
                return .notRecognised  // a CR not followed by LF
            } else if byte != .cr, byte != .tab, !(0x20...0x7E).contains(byte) {
                return .notRecognised
            }
            index += 1
        }
        guard let end else {
            scanned = bytes.count
            return bytes.count >= Self.maxHeadBytes ? .notRecognised : .needMore
        }
        guard end <= Self.maxHeadBytes, let head = Self.parse(UnsafeRawBufferPointer(rebasing: bytes[..<(end - 2)])) else {
            return .notRecognised
        }
        return .upgrade(head, length: end)
    }

    /// `lines`: the request line and the header lines, each ending in CRLF (the blank
    /// line left out); all bytes already checked to be visible ASCII, SP, HTAB or CRLF.
    private static func parse(_ lines: UnsafeRawBufferPointer) -> HTTPRequestHead? {
        var lineStart = 0
        var target: String?
        var headers: [(String, String)] = []
        var upgrades = 0
        var connectionUpgrade = false
        var contentLengths = 0
        while lineStart < lines.count {
            // Every line ends in CRLF (checked by the scan): find its CR.
            var lineEnd = lineStart
            while lines[lineEnd] != .cr { lineEnd += 1 }
            let line = UnsafeRawBufferPointer(rebasing: lines[lineStart..<lineEnd])
            lineStart = lineEnd + 2
            guard target != nil else {
                guard let requestTarget = requestTarget(line) else { return nil }
                target = requestTarget
                continue
            }
            guard headers.count < maxHeaders, let (name, value) = header(line) else { return nil }
            switch name.lowercased() {
            case "content-length":
                // NIO's WebSocket client sends `Content-Length: 0`; any other body framing
                // on an upgrade request is for NIO's parser to judge.
                contentLengths += 1
                guard contentLengths == 1, value == "0" else { return nil }
            case "transfer-encoding":
                return nil
            case "upgrade":
                upgrades += 1
                guard value.lowercased() == "websocket" else { return nil }
            case "connection":
                if value.split(separator: ",").contains(where: { $0.trimmingSpaces.lowercased() == "upgrade" }) {
                    connectionUpgrade = true
                }
            default:
                break
            }
            headers.append((name, value))
        }
        guard let target, upgrades == 1, connectionUpgrade else { return nil }
        return HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: HTTPHeaders(headers))
    }

    /// `GET <origin-form target> HTTP/1.1`: the target, or nil.
    private static func requestTarget(_ line: UnsafeRawBufferPointer) -> String? {
        let version: StaticString = " HTTP/1.1"
        let suffix = version.utf8CodeUnitCount
        // "GET /" was checked by the scan; the target runs from the "/" to the version.
        guard line.count > 4 + suffix else { return nil }
        for index in 0..<suffix where line[line.count - suffix + index] != version.utf8Start[index] {
            return nil
        }
        let target = UnsafeRawBufferPointer(rebasing: line[4..<(line.count - suffix)])
        guard target.allSatisfy(isTargetByte) else { return nil }
        return String(decoding: target, as: UTF8.self)
    }

    /// `name: value`, the name a token, the spaces and tabs before the value left out.
    /// Spaces or tabs after it: nil (whether NIO's parser keeps them in the value depends
    /// on the header and its state; browsers send none).
    private static func header(_ line: UnsafeRawBufferPointer) -> (name: String, value: String)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return nil }
        let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
        // A line starting with SP or HTAB continues the previous one (obsolete folding):
        // not a token, so not recognised.
        guard name.allSatisfy(isTokenByte) else { return nil }
        var start = colon + 1
        while start < line.count, line[start] == .space || line[start] == .tab { start += 1 }
        if start < line.count, line[line.count - 1] == .space || line[line.count - 1] == .tab { return nil }
        let value = String(decoding: UnsafeRawBufferPointer(rebasing: line[start...]), as: UTF8.self)
        return (String(decoding: name, as: UTF8.self), value)
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
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
