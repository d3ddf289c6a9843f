/// A cluster node's view of its streams and what it did, for metrics, logs and tests.
public struct ClusterStatistics: Sendable, Hashable {
    /// Streams run here (their leases held here).
    public var owned = 0
    /// Streams run elsewhere, mirrored here for this node's viewers.
    public var mirrored = 0
    /// Requests sent to the node running a stream.
    public var forwarded = 0
    /// Mirrored streams this node took over after their node's lease lapsed.
    public var takeovers = 0
    /// Leases this node lost while running the stream (fenced off, or not renewed).
    public var leasesLost = 0
    /// Mirrors loaded again after a gap, a new epoch or a reconnect.
    public var reloads = 0
    public var redisAvailable = false

    public init() {}
}
