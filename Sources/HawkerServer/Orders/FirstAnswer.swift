import Synchronization

/// Which of two racing answers (a result, a timeout) resumes a continuation: the first
/// to `take` it.
final class FirstAnswer: Sendable {
    private let taken = Mutex(false)

    /// True once, for the first caller.
    func take() -> Bool {
        taken.withLock { taken in
            defer { taken = true }
            return !taken
        }
    }
}
