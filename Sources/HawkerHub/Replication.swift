/// What became of an event given to a replica (cluster mode: a stream another node runs,
/// mirrored here for this node's subscribers).
public enum Replication: Sendable, Equatable {
    /// Applied: in the replica's room and history, on its way to the local subscribers.
    case applied
    /// The replica had it already (a message that crossed the replica's loading).
    case duplicate
    /// Not the next event, or of another epoch: the replica must be loaded again.
    case gap
    /// No replica of the stream here (never followed, dropped, or run by this node).
    case notFollowed
}
