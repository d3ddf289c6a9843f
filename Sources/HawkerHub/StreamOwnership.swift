/// Who may create how many streams: the hub asks before it creates a stream for an
/// owner (a token's `sub`) and tells it when the stream is gone. Shared by every shard,
/// so an implementation is thread-safe.
public protocol StreamOwnership: Sendable {
    /// Takes one stream from `owner`'s allowance; false when it is spent.
    func claimStream(for owner: String) -> Bool
    /// Gives one back: a stream `owner` created was dropped.
    func releaseStream(of owner: String)
}

/// Who creates a stream that does not exist yet.
public enum StreamCreator: Sendable, Hashable {
    /// The gateway itself or an operator: no quota.
    case gateway
    /// A user (a token's `sub`), within its stream quota.
    case user(String)
}
