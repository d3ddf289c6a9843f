import HawkerProtocol
import NIOCore

/// One node's part in a cluster (`cluster.*` settings).
public struct ClusterConfiguration: Sendable, Hashable {
    /// This node's name in the cluster: in stream leases and its bus inbox. Unique per
    /// running process: two processes under one id would take each other's leases.
    public var node: String
    /// Prefix of every Redis key and channel, so several clusters can share one Redis.
    public var prefix: String
    /// How long a stream's lease lasts unless renewed: a dead node's streams are taken
    /// over within about this long. Renewed every third of it.
    public var leaseMilliseconds: Int64
    /// How long a command forwarded to the node running its stream waits for the answer.
    public var forwardTimeout: TimeAmount

    public init(node: String = ClusterConfiguration.generatedNode(), prefix: String = "hawker", leaseMilliseconds: Int64 = 5_000, forwardTimeout: TimeAmount = .seconds(3)) {
        self.node = node
        self.prefix = prefix
        self.leaseMilliseconds = leaseMilliseconds
        self.forwardTimeout = forwardTimeout
    }

    /// A node id for a process that was given none: random, so a restarted node never
    /// mistakes its previous run's leases for its own.
    public static func generatedNode() -> String { "node-" + RandomID.hex16() }
}
