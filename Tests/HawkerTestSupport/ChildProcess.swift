import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process (redis-server, a `hawker serve` node) started with `posix_spawn`.
///
/// Not Foundation's `Process`: on Linux its `run()` crashed inside a `memcpy` when the
/// test process opened and closed many descriptors at the same moment (PostgreSQL pools of
/// suites running in parallel with one that starts redis-server). The child gets its stdio
/// and nothing else: every other descriptor is closed in it (`closefrom` as a spawn
/// action), or it would keep the test's listening sockets and their ports.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    /// The raw wait status, once the child was reaped.
    private let status = Mutex<Int32?>(nil)

    private init(pid: pid_t) {
        self.pid = pid
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts `path` with `arguments`; stdin from /dev/null, stdout and stderr appended to
    /// `outputPath` (or /dev/null). `environment` nil: this process's.
    public static func spawn(_ path: String, _ arguments: [String], environment: [String: String]? = nil, outputPath: String? = nil) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        try closeFrom(3, &actions)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let pairs = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = pairs.map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard result == 0 else { throw SpawnError(description: "posix_spawn \(path): \(String(cString: strerror(result)))") }
        return ChildProcess(pid: pid)
    }

    /// glibc 2.34+ has `posix_spawn_file_actions_addclosefrom_np`; Swift's Glibc module
    /// does not declare it, so it is looked up by name.
    private static func closeFrom(_ first: Int32, _ actions: inout posix_spawn_file_actions_t) throws {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            throw SpawnError(description: "posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later is needed)")
        }
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, first)
    }

    /// Reaps the child if it ended (without waiting).
    public var isRunning: Bool {
        status.withLock { status in
            guard status == nil else { return false }
            var raw: Int32 = 0
            let reaped = waitpid(pid, &raw, WNOHANG)
            if reaped == pid { status = raw }
            return reaped == 0
        }
    }

    /// Blocks until the child ends.
    public func waitUntilExit() {
        status.withLock { status in
            guard status == nil else { return }
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
            status = raw
        }
    }

    public func signal(_ number: Int32) {
        guard isRunning else { return }
        kill(pid, number)
    }

    /// The signal that ended the child, if one did.
    public var terminationSignal: Int32? {
        guard !isRunning, let raw = status.withLock({ $0 }), raw & 0x7f != 0, raw & 0x7f != 0x7f else { return nil }
        return raw & 0x7f
    }

    /// How the child ended, for failure messages: "exit 1", "signal 9".
    public var termination: String {
        guard !isRunning, let raw = status.withLock({ $0 }) else { return "running" }
        if let signal = terminationSignal { return "signal \(signal)" }
        return "exit \((raw >> 8) & 0xff)"
    }
}
