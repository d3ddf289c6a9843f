import Foundation

/// The live progress display: one line on standard error, redrawn in place on a terminal
/// and printed once a second otherwise (results go to standard output).
final class ProgressLine: Sendable {
    private let task: Task<Void, Never>

    /// Calls `describe` every `interval` seconds until `stop()`.
    init(every interval: Double = 1, _ describe: @escaping @Sendable () -> String) {
        let terminal = isatty(STDERR_FILENO) == 1
        task = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
                if Task.isCancelled { break }
                let line = "hawker-load: \(describe())"
                FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
            }
            if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}

/// A progress message on standard error (results go to standard output).
func progress(_ message: String) {
    FileHandle.standardError.write(Data("hawker-load: \(message)\n".utf8))
}
