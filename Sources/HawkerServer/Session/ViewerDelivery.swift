import HawkerHub
import HawkerProtocol
import NIOCore

/// Broadcast delivery to one viewer and the slow-consumer policy, as a value type: the
/// session handler tells it what the socket is doing and carries out its decisions.
///
/// While the socket takes writes, frames are written at once (the socket's writer sees to
/// one flush per batch).
/// When it stops (NIO's queue past the high-water mark), the viewer is backed up: frames
/// are held in a `DeliveryBacklog` (latest per state key, chat counted and dropped) until
/// the socket drains, when it gets a `gap` notice and the held frames. A viewer backed up
/// longer than `stuckTimeout`, or owed more than `budgetBytes` (socket queue plus
/// backlog), is given up on (close 4001).
struct ViewerDelivery {
    struct Policy: Sendable {
        var stuckTimeout: TimeAmount
        var budgetBytes: Int
    }

    enum Decision: Equatable {
        /// Write the frame now.
        case write
        /// Held for later. `backedUpNow`: the viewer just became backed up, so the caller
        /// arms a timer for `stuckDeadline`.
        case held(DeliveryBacklog.Held, backedUpNow: Bool)
        /// Close the viewer with 4001. The frame was still `held` (for the counters), and
        /// `backedUpNow` when this was the viewer's first held frame.
        case giveUp(reason: String, held: DeliveryBacklog.Held, backedUpNow: Bool)
    }

    let policy: Policy
    private var backlog: DeliveryBacklog?
    private var backedUpSince: NIODeadline?

    init(policy: Policy) {
        self.policy = policy
    }

    var isBackedUp: Bool { backlog != nil }

    /// When a viewer backed up now is to be given up on, unless it drained by then.
    var stuckDeadline: NIODeadline? { backedUpSince.map { $0 + policy.stuckTimeout } }

    /// A frame for the viewer. `writable` and `queuedBytes` describe its socket now.
    /// `queuedBytes` and `now` are read only for a viewer that is or becomes backed up:
    /// the write path of every delivery asks for neither (reading NIO's queue length is
    /// a channel option lookup, too dear per delivery).
    mutating func receive(
        _ frame: BroadcastFrame, from stream: StreamID, writable: Bool, queuedBytes: @autoclosure () -> Int, now: @autoclosure () -> NIODeadline
    ) -> Decision {
        if backlog == nil, writable { return .write }
        let backedUpNow = backlog == nil
        if backedUpNow {
            backlog = DeliveryBacklog()
            backedUpSince = now()
        }
        let held = backlog!.hold(frame, from: stream)
        // One budget for what the connection is owed: its socket queue and its backlog.
        if backlog!.bytes + queuedBytes() > policy.budgetBytes {
            stop()
            return .giveUp(reason: "owed more than \(policy.budgetBytes) bytes", held: held, backedUpNow: backedUpNow)
        }
        return .held(held, backedUpNow: backedUpNow)
    }

    /// The socket drained: what the viewer missed (a gap per stream, then the latest
    /// frames, oldest first), or nil when it was not backed up.
    mutating func drained() -> (gaps: [DeliveryBacklog.Gap], frames: [(stream: StreamID, frame: BroadcastFrame)])? {
        guard var held = backlog else { return nil }
        backlog = nil
        backedUpSince = nil
        return held.drain()
    }

    /// The stuck timer fired: the reason to give up, when the viewer has been backed up
    /// since before `now - stuckTimeout` (it may have drained and backed up again since).
    mutating func stuck(now: NIODeadline) -> String? {
        guard let deadline = stuckDeadline, now >= deadline else { return nil }
        stop()
        return "stuck for \(policy.stuckTimeout.nanoseconds / 1_000_000) ms"
    }

    /// Forgets what is held: the viewer is being closed.
    mutating func stop() {
        backlog = nil
        backedUpSince = nil
    }
}
