import Logging
import ServiceLifecycle
import Synchronization

/// Keeps a registry (influencer codes, merchants) in step with its store beside the
/// outbox: read once before the first connection, then, on a cluster's shared store,
/// every `interval` for what other nodes saved. Runs the shared store's pool meanwhile.
final class StoreFollower: Sendable {
    /// The shared store's connection pool; nil for the SQLite file.
    private let storeService: (any Service)?
    /// The pool's task, from `load` until `run` ends.
    private let pool = Mutex<Task<Void, Never>?>(nil)
    private let interval: Duration
    private let what: String
    private let logger: Logger
    /// Reads the changes and applies them: how many rows could not be read.
    private let read: @Sendable () async throws -> Int

    init(_ what: String, storeService: (any Service)?, interval: Duration, logger: Logger, read: @escaping @Sendable () async throws -> Int) {
        self.what = what
        self.storeService = storeService
        self.interval = interval
        self.logger = logger
        self.read = read
    }

    /// Whether other nodes save to the store too.
    var isShared: Bool { storeService != nil }

    /// A local store must read (or the gateway does not start); a shared one is given a
    /// few seconds, then read by `run` until it answers.
    func load() async throws {
        guard let storeService else {
            warnIfUndecodable(try await read())
            return
        }
        pool.withLock { $0 = Task { try? await storeService.run() } }
        for attempt in 1...5 {
            do {
                warnIfUndecodable(try await read())
                return
            } catch {
                if attempt == 5 {
                    logger.error("could not read the \(what); serving without them until they are read", metadata: ["error": "\(error)"])
                } else {
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    /// A shared store: what other nodes save, every `interval`; the pool stops when this does.
    func run() async {
        guard storeService != nil else { return }
        var failing = false
        while !Task.isCancelled {
            do {
                warnIfUndecodable(try await read())
                failing = false
            } catch {
                if !failing { logger.error("could not read the \(what); retrying", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try? await Task.sleep(for: interval)
        }
        let task = pool.withLock { $0 }
        task?.cancel()
        await task?.value
    }

    private func warnIfUndecodable(_ rows: Int) {
        if rows > 0 { logger.warning("\(what) that could not be read were passed over", metadata: ["rows": "\(rows)"]) }
    }
}
