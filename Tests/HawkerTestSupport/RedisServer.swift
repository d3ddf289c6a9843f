import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway `redis-server` for tests: its own port on loopback and its own directory,
/// killed and restarted at will (a restart keeps the port and, with `appendOnly`, the data).
///
/// Where the binary is: `HAWKER_REDIS_SERVER`, else `redis-server` on the PATH (Debian:
/// `apt-get install redis-server`; `.ci/run` installs it). Without one the Redis tests
/// skip, except under `CI=true`, where they fail.
///
/// `@unchecked Sendable`: `Process` is not annotated; one test drives one instance.
public final class RedisServer: @unchecked Sendable {
    public static let binary: String? = {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["HAWKER_REDIS_SERVER"], !path.isEmpty { return path }
        let directories = (environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/usr/sbin"]
        return directories.map { $0 + "/redis-server" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Whether the Redis tests run: a server is installed, or CI demands them (and they fail
    /// without one rather than pass having tested nothing).
    public static var enabled: Bool { binary != nil || ProcessInfo.processInfo.environment["CI"] == "true" }

    public let port: Int
    public let directory: String
    private let arguments: [String]
    private var process: ChildProcess?

    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts a server. `appendOnly` keeps every write in an AOF fsynced at each write
    /// (`appendfsync always`), so a restart finds it.
    public static func start(appendOnly: Bool = false, extra: [String] = []) async throws -> RedisServer {
        guard let binary else { throw Failure(description: "redis-server is not installed (apt-get install redis-server, or set HAWKER_REDIS_SERVER)") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-redis-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let server = RedisServer(
            port: try freePort(), directory: directory,
            arguments: [
                "--bind", "127.0.0.1", "--protected-mode", "no", "--save", "", "--dir", directory, "--logfile", "redis.log", "--daemonize", "no",
                "--appendonly", appendOnly ? "yes" : "no", "--appendfsync", "always",
            ] + extra)
        _ = binary
        try await server.launch()
        return server
    }

    private init(port: Int, directory: String, arguments: [String]) {
        self.port = port
        self.directory = directory
        self.arguments = arguments
    }

    /// Kills what is left without waiting (a test that failed before its cleanup).
    deinit {
        if let process, process.isRunning {
            kill(process.pid, SIGCONT)
            kill(process.pid, SIGKILL)
        }
    }

    private func launch() async throws {
        guard let binary = Self.binary else { return }
        let log = directory + "/redis.log"
        try? FileManager.default.removeItem(atPath: log)
        let process = try ChildProcess.spawn(binary, ["--port", "\(port)"] + arguments)
        self.process = process
        // Ready once it says so: it listens before it has loaded its data.
        let deadline = Date().addingTimeInterval(20)
        while true {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains("Ready to accept connections") { return }
            guard process.isRunning else { throw Failure(description: "redis-server exited at start; log:\n\(logTail())") }
            guard Date() < deadline else { throw Failure(description: "redis-server was not ready in 20 s; log:\n\(logTail())") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// SIGKILL, and waits for the exit (polling: `waitUntilExit` would hold a thread of
    /// the cooperative pool): Redis as a crash leaves it.
    public func stop() async {
        guard let process, process.isRunning else { return }
        kill(process.pid, SIGCONT)
        kill(process.pid, SIGKILL)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// Kills it and starts it again on the same port and directory.
    public func restart() async throws {
        await stop()
        try await launch()
    }

    /// SIGSTOP: it keeps its connections open and answers nothing (a hung or partitioned server).
    public func pause() {
        if let process { kill(process.pid, SIGSTOP) }
    }

    /// SIGCONT after `pause()`.
    public func resume() {
        if let process { kill(process.pid, SIGCONT) }
    }

    public func logTail(lines: Int = 30) -> String {
        let text = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// A loopback port nothing listens on now (bound with port 0, then released).
    public static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw Failure(description: "could not find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String

        public init(description: String) {
            self.description = description
        }
    }
}
