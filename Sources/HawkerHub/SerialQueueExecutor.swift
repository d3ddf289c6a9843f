import Dispatch

/// A task executor that runs its jobs on one serial dispatch queue: the journal's commits
/// to a blocking store run there, off Swift's cooperative pool (which must not block) and
/// without a hop to the store's own queue.
final class SerialQueueExecutor: TaskExecutor {
    private let queue: DispatchQueue
    /// Set on the queue: tells whether code runs there.
    private let marker = DispatchSpecificKey<Bool>()

    init(label: String) {
        queue = DispatchQueue(label: label)
        queue.setSpecific(key: marker, value: true)
    }

    /// Whether the caller runs on this executor's queue.
    var isCurrent: Bool { DispatchQueue.getSpecific(key: marker) == true }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }
    }
}
