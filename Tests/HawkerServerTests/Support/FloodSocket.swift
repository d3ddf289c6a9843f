import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A blocking TCP client for abuse probes: it writes as fast as the kernel takes bytes,
/// reads only when told to, and notices when the server closes it. A small receive
/// buffer makes the server's side back up within kilobytes, as a client that never reads
/// on a slow link would.
///
/// `@unchecked Sendable`: one probe drives one socket from one task.
final class FloodSocket: @unchecked Sendable {
    enum Failure: Error, CustomStringConvertible {
        case system(String, Int32)
        case handshake(String)

        var description: String {
            switch self {
            case .system(let call, let code): return "\(call) failed: \(String(cString: strerror(code)))"
            case .handshake(let head): return "upgrade refused: \(head.prefix(200))"
            }
        }
    }

    private let fd: Int32
    private(set) var isClosed = false

    init(port: Int, receiveBuffer: Int32 = 4_096) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.system("socket", errno) }
        var size = receiveBuffer
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        // Writes give up after 100 ms, so a flood loop can check its deadline.
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(fd)
            throw Failure.system("connect", code)
        }
    }

    deinit {
        Glibc.close(fd)
    }

    /// Writes all of `bytes` unless the server closed the connection (then false), or the
    /// kernel took nothing for `patience` (then true: backed up, not closed).
    @discardableResult
    func send(_ bytes: [UInt8], patience: Duration = .seconds(2)) -> Bool {
        guard !isClosed else { return false }
        var offset = 0
        let deadline = ContinuousClock.now + patience
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written > 0 {
                offset += written
                continue
            }
            if written < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                if peerClosed() {
                    isClosed = true
                    return false
                }
                if ContinuousClock.now > deadline { return true }
                continue
            }
            isClosed = true
            return false
        }
        return true
    }

    func send(_ text: String) -> Bool {
        send(Array(text.utf8))
    }

    /// Sends `bytes` again and again until the server closes the connection (true) or
    /// `seconds` pass (false).
    func flood(_ bytes: [UInt8], seconds: Double) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1_000))
        while ContinuousClock.now < deadline {
            if !send(bytes, patience: .milliseconds(200)) || peerClosed() {
                isClosed = true
                return true
            }
        }
        return false
    }

    /// Waits until the server closes the connection, without reading.
    func waitForClose(seconds: Double) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1_000))
        while ContinuousClock.now < deadline {
            if isClosed || peerClosed() {
                isClosed = true
                return true
            }
            usleep(20_000)
        }
        return false
    }

    /// Reads until `marker` has arrived (the handshake, a reply), up to `seconds`.
    func read(until marker: String, seconds: Double = 10) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1_000))
        while ContinuousClock.now < deadline, !String(decoding: received, as: UTF8.self).contains(marker) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 {
                isClosed = true
                break
            }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// The WebSocket upgrade for hawker.v1; reads the 101 and nothing more.
    func upgrade() throws {
        _ = send(
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: hawker.v1\r\n\r\n"
        )
        let head = read(until: "\r\n\r\n")
        guard head.hasPrefix("HTTP/1.1 101") else { throw Failure.handshake(head) }
    }

    /// A masked client frame (RFC 6455 §5.2).
    static func frame(opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        var bytes: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            bytes.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            bytes += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            bytes.append(0x80 | 127)
            bytes += (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        bytes += key
        bytes += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
        return bytes
    }

    static func text(_ text: String) -> [UInt8] {
        frame(opcode: 0x1, Array(text.utf8))
    }

    /// Whether the server ended the connection (FIN or RST), without reading its data.
    private func peerClosed() -> Bool {
        // POLLRDHUP (Linux, not exported to Swift): the peer shut down its side, reported
        // even while unread data waits.
        let readHangUp: Int16 = 0x2000
        var poller = pollfd(fd: fd, events: readHangUp, revents: 0)
        guard poll(&poller, 1, 0) > 0 else { return false }
        return poller.revents & (readHangUp | Int16(POLLHUP) | Int16(POLLERR)) != 0
    }
}

/// Resident memory of a process, from /proc (Linux).
enum ProcessMemory {
    /// VmRSS in bytes; 0 when it cannot be read.
    static func residentBytes(pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kilobytes * 1_024
    }
}
