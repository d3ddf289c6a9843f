import HawkerCommerce

/// Why a stream operation failed, whatever engine ran it.
public enum HubError: Error, Sendable, Hashable {
    case streamNotFound
    /// The creator has as many streams as its quota allows (`StreamOwnership`).
    case streamQuotaReached
    case tooManyStreams
    /// The stream's room refused the event or command.
    case rejected(RoomError)
    /// The event went out to viewers, but the state store could not keep it: it will not
    /// survive a restart.
    case notStored
}
