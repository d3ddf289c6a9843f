/// A node's hold on a stream in a cluster: who runs its room and sequences its events,
/// with a fencing token that grows with every new holder, so that a node that lost the
/// lease (paused, cut off) can no longer write: Redis refuses its token.
public struct StreamLease: Sendable, Hashable, CustomStringConvertible {
    public var node: String
    public var token: UInt64

    public init(node: String, token: UInt64) {
        self.node = node
        self.token = token
    }

    /// As kept in Redis: `<node> <token>`.
    var stored: String { "\(node) \(token)" }

    init?(stored: String) {
        guard let space = stored.lastIndex(of: " "), let token = UInt64(stored[stored.index(after: space)...]) else { return nil }
        self.init(node: String(stored[..<space]), token: token)
    }

    public var description: String { stored }
}
