#if canImport(Glibc)
import Glibc
#endif

/// Which of the listener's failures to log. Out of descriptors (or memory) `accept` fails
/// again every 100 ms while the listener backs off; a line each time would flood the log
/// just when an operator reads it. So: the first failure of a run at once, then one line
/// every `interval` with how many failed since, and one when a connection is accepted
/// again. A value type: `SocketAcceptor`'s thread owns it.
struct AcceptFailures {
    enum Line: Equatable {
        /// The first failure after accepting worked.
        case started(errno: CInt)
        /// Still failing: `failures` since the last line, the latest with `errno`.
        case ongoing(errno: CInt, failures: Int)
        /// Accepting works again after `failures` failures over `nanoseconds`.
        case recovered(failures: Int, nanoseconds: UInt64)
    }

    /// At most one line per this many nanoseconds while failures go on.
    let interval: UInt64
    private var since: UInt64?
    private var lastLine: UInt64 = 0
    private var failures = 0
    private var unlogged = 0

    init(interval: UInt64 = 10_000_000_000) {
        self.interval = interval
    }

    /// Whether the listener is in a run of failures.
    var isFailing: Bool { since != nil }

    /// A failure at `now` (monotonic nanoseconds): the line to log, if one is due.
    mutating func failed(errno: CInt, now: UInt64) -> Line? {
        failures += 1
        guard since != nil else {
            since = now
            lastLine = now
            return .started(errno: errno)
        }
        unlogged += 1
        guard now &- lastLine >= interval else { return nil }
        defer {
            lastLine = now
            unlogged = 0
        }
        return .ongoing(errno: errno, failures: unlogged)
    }

    /// A connection accepted at `now`: a line when that ends a run of failures.
    mutating func accepted(now: UInt64) -> Line? {
        guard let since else { return nil }
        defer {
            self.since = nil
            failures = 0
            unlogged = 0
        }
        return .recovered(failures: failures, nanoseconds: now &- since)
    }
}
