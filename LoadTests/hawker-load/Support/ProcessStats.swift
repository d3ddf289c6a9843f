import Foundation

/// CPU time and resident memory of a process, read from /proc.
struct ProcessStats: Sendable {
    /// Time on CPU (user and kernel), from the threads' schedstat in nanoseconds: the
    /// utime/stime of /proc/<pid>/stat count in 10 ms ticks, too coarse for a short window.
    var cpuMicroseconds: Double
    /// Of which in the kernel (stat's stime, in ticks: only meaningful over seconds).
    var systemMicroseconds: Double
    var residentBytes: Int

    static func read(pid: Int32) -> ProcessStats? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let tick = 1_000_000 / Double(sysconf(Int32(_SC_CLK_TCK)))
        var resident = 0
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        {
            resident = kilobytes * 1024
        }
        let cpu = scheduledNanoseconds(pid: pid).map { $0 / 1_000 } ?? (user + system) * tick
        return ProcessStats(cpuMicroseconds: cpu, systemMicroseconds: system * tick, residentBytes: resident)
    }

    /// Time on CPU of each NIO event-loop thread (named `NIO-ELT-<group>-#<n>`), in
    /// microseconds, by thread name: how the work splits across the gateway's loops.
    static func eventLoopMicroseconds(pid: Int32) -> [String: Double] {
        var loops: [String: Double] = [:]
        for (name, nanoseconds) in threadNanoseconds(pid: pid, named: true) where name.hasPrefix("NIO-ELT-") {
            loops[name, default: 0] += nanoseconds / 1_000
        }
        return loops
    }

    /// The sum over the process's threads of their time on CPU.
    private static func scheduledNanoseconds(pid: Int32) -> Double? {
        let total = threadNanoseconds(pid: pid, named: false).map(\.nanoseconds).reduce(0, +)
        return total > 0 ? total : nil
    }

    /// Each thread's time on CPU (schedstat's first field, in nanoseconds), and its name
    /// when `named` (one more read per thread: the totals are sampled every few ms).
    private static func threadNanoseconds(pid: Int32, named: Bool) -> [(name: String, nanoseconds: Double)] {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return [] }
        return threads.compactMap { thread in
            guard let line = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/schedstat", encoding: .utf8),
                let first = line.split(separator: " ").first, let nanoseconds = Double(first)
            else { return nil }
            let name = named ? (try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" : ""
            return (name, nanoseconds)
        }
    }
}
