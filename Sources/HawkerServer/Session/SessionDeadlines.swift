import HeapModule
import NIOCore

/// The connect and token-expiry deadlines of one event loop's sessions, in one heap under
/// one NIO timer.
///
/// A timer per session costs more than it looks: NIO keeps scheduled tasks in one heap
/// per loop and finds a cancelled task by a linear scan, so with 10,000 sessions each
/// holding a token-expiry timer, every `welcome` (which cancels the connect timer) and
/// every close scanned them all (~8% of a connect storm's CPU). Here a deadline is an
/// entry in a heap and a cancellation a dictionary removal; the heap drops cancelled
/// entries when they reach its top, or all at once when they outnumber the live ones.
///
/// Deadlines fire at most `coalescing` late, so that a storm of connections, whose
/// deadlines are spread by microseconds, wakes the loop once per interval instead of
/// once per deadline.
final class SessionDeadlines<Owner: AnyObject> {
    typealias Fire = (Owner) -> Void

    /// What `schedule` returns, to cancel with.
    struct Ticket: Hashable {
        fileprivate let value: UInt64
    }

    private struct Entry: Comparable {
        var deadline: NIODeadline
        var ticket: UInt64

        static func < (lhs: Entry, rhs: Entry) -> Bool {
            (lhs.deadline, lhs.ticket) < (rhs.deadline, rhs.ticket)
        }
    }

    private let eventLoop: any EventLoop
    private let coalescing: TimeAmount
    private let fire: Fire
    private var heap = Heap<Entry>()
    private var live: [UInt64: Owner] = [:]
    private var nextTicket: UInt64 = 0
    private var timer: (deadline: NIODeadline, generation: UInt64, task: Scheduled<Void>)?
    /// Tells the armed timer from one cancelled too late: NIO may still run a task
    /// cancelled in the loop turn that runs it.
    private var generation: UInt64 = 0

    /// `fire` runs on the loop for each deadline that passed and was not cancelled.
    init(eventLoop: any EventLoop, coalescing: TimeAmount = .milliseconds(10), fire: @escaping Fire) {
        self.eventLoop = eventLoop
        self.coalescing = coalescing
        self.fire = fire
    }

    /// Deadlines scheduled and not yet fired or cancelled.
    var count: Int { live.count }

    /// Entries the heap holds, cancelled ones included (for tests of the compaction).
    var heldEntries: Int { heap.count }

    func schedule(_ owner: Owner, at deadline: NIODeadline) -> Ticket {
        eventLoop.assertInEventLoop()
        nextTicket += 1
        live[nextTicket] = owner
        heap.insert(Entry(deadline: deadline, ticket: nextTicket))
        armTimer()
        return Ticket(value: nextTicket)
    }

    func cancel(_ ticket: Ticket) {
        eventLoop.assertInEventLoop()
        guard live.removeValue(forKey: ticket.value) != nil else { return }
        // Cancelled entries are dropped when they reach the top; a heap mostly made of
        // them (long token lifetimes, many reconnects) is rebuilt from the live ones.
        if heap.count > 1_024, heap.count > 2 * live.count {
            heap = Heap(heap.unordered.filter { live[$0.ticket] != nil })
        }
    }

    private func armTimer() {
        guard let earliest = heap.min else {
            timer?.task.cancel()
            timer = nil
            return
        }
        if let timer, timer.deadline <= earliest.deadline + coalescing { return }
        timer?.task.cancel()
        let at = max(earliest.deadline, eventLoop.now + coalescing)
        generation += 1
        let armed = generation
        timer = (at, armed, eventLoop.assumeIsolated().scheduleTask(deadline: at) { [self] in fireDue(armed) })
    }

    private func fireDue(_ armed: UInt64) {
        guard timer?.generation == armed else { return }
        timer = nil
        let now = eventLoop.now
        var due: [Owner] = []
        while let earliest = heap.min, earliest.deadline <= now {
            heap.removeMin()
            if let owner = live.removeValue(forKey: earliest.ticket) { due.append(owner) }
        }
        armTimer()
        // After the heap is consistent: what fires may schedule or cancel deadlines.
        for owner in due { fire(owner) }
    }
}
