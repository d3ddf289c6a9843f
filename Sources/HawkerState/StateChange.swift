import HawkerProtocol

/// One change to what a `StateStore` keeps.
public enum StateChange: Sendable, Hashable {
    /// A stream begins (or begins again after it was removed): anything kept under the id
    /// before is replaced.
    case created(StreamID, epoch: String, createdAt: Int64, owner: String?)
    /// An event was sequenced in the stream.
    case appended(StreamID, StoredEvent)
    /// Events up to and including `seq` are no longer needed for resume.
    case trimmed(StreamID, through: UInt64)
    /// The stream's room as of its event `seq`.
    case roomSaved(StreamID, StoredRoom)
    /// The stream ended and left memory: its events go, its room is kept for reading.
    case archived(StreamID, at: Int64)
    /// Everything about the stream goes.
    case removed(StreamID)

    public var stream: StreamID {
        switch self {
        case .created(let stream, _, _, _), .appended(let stream, _), .trimmed(let stream, _), .roomSaved(let stream, _),
            .archived(let stream, _), .removed(let stream):
            stream
        }
    }
}
