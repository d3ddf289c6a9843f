import HawkerCommerce

/// Why a stream operation failed, whatever engine ran it.
public enum HubError: Error, Sendable, Hashable {
    case streamNotFound
    /// The creator has as many streams as its quota allows (`StreamOwnership`).
    case streamQuotaReached
    case tooManyStreams
    /// The stream's room refused the event or command.
    case rejected(RoomError)
    /// The event went out to viewers, but the state store refused it: it will not
    /// survive a restart.
    case notStored
    /// The state store is behind (failing or slow): nothing was done; retry later.
    case storeBehind
    /// The stream runs on another node of the cluster; this one only mirrors it.
    case runsElsewhere
}
