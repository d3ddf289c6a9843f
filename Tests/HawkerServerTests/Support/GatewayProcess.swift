import Foundation
import HawkerTestSupport
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The real `hawker` binary in a child process: for tests that must kill the gateway the
/// way an OOM killer or a power cut would (SIGKILL), which an in-process gateway cannot
/// survive to report on.
///
final class GatewayProcess: Sendable {
    /// The debug build of the executable (`swift build`), or `HAWKER_BINARY` when set
    /// (another build path or configuration).
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["HAWKER_BINARY"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return RepositoryFile.root.appendingPathComponent(".build/debug/hawker")
    }

    let port: Int
    let logPath: String
    private let process: ChildProcess

    private init(port: Int, logPath: String, process: ChildProcess) {
        self.port = port
        self.logPath = logPath
        self.process = process
    }

    var pid: Int32 { process.pid }
    var isRunning: Bool { process.isRunning }

    /// Launches `hawker serve --host 127.0.0.1 --port <port> <arguments...>`, its output
    /// going to `logPath`. Configuration comes only from the arguments: the test's own
    /// `HAWKER_*` variables are not passed on.
    static func launch(port: Int, arguments: [String], logPath: String) throws -> GatewayProcess {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw LaunchError(description: "build first: swift build (\(binary.path) is missing)")
        }
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = try ChildProcess.spawn(
            binary.path, ["serve", "--host", "127.0.0.1", "--port", "\(port)"] + arguments,
            environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HAWKER_") }, outputPath: logPath)
        return GatewayProcess(port: port, logPath: logPath, process: process)
    }

    /// Waits until `GET /healthz` answers 200; throws (with the log's tail) if the process
    /// exits first or `seconds` pass.
    func waitUntilHealthy(seconds: Double = 60) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            guard process.isRunning else {
                throw LaunchError(description: "the gateway exited (\(process.termination)) before it was healthy; log:\n\(logTail())")
            }
            if let response = try? await HTTP.request("GET", port: port, path: "/healthz"), response.status == 200 { return }
            guard Date() < deadline else {
                throw LaunchError(description: "the gateway did not answer /healthz on port \(port) within \(seconds) s; log:\n\(logTail())")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// SIGKILL: no graceful shutdown, no flush, no `deinit`; what is not on disk is gone.
    /// Returns once the process has exited.
    func killNine(seconds: Double = 30) async throws {
        try await signal(SIGKILL, "SIGKILL", seconds: seconds)
    }

    /// SIGTERM: a graceful shutdown (drain, save, flush); waits for the exit.
    func terminate(seconds: Double = 60) async throws {
        try await signal(SIGTERM, "SIGTERM", seconds: seconds)
    }

    private func signal(_ number: Int32, _ name: String, seconds: Double) async throws {
        guard process.isRunning else { return }
        kill(process.pid, number)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning {
            guard Date() < deadline else { throw LaunchError(description: "pid \(pid) still runs \(seconds) s after \(name); log:\n\(logTail())") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Whether the process ended by SIGKILL (rather than exiting or crashing on its own).
    var wasKilledBySIGKILL: Bool {
        process.terminationSignal == SIGKILL
    }

    /// Cleanup (also after a failure): kills the process if it still runs. Synchronous so
    /// that it fits in a `defer`.
    func stop() {
        guard process.isRunning else { return }
        kill(process.pid, SIGKILL)
        process.waitUntilExit()
    }

    /// The last `lines` lines the gateway wrote, for failure messages.
    func logTail(lines: Int = 40) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// A loopback port nothing listens on right now (bound once with port 0, then released).
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        guard port > 0 else { throw LaunchError(description: "could not find a free port") }
        return port
    }

    struct LaunchError: Error, CustomStringConvertible {
        let description: String
    }
}
