import HawkerCommerce
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
    /// Writes nothing; refused, like the stream's other changes, when the writer no longer
    /// runs the stream (a cluster node that lost its lease). A checkout's commit carries
    /// one, so that a node that lost the stream cannot accept it.
    case fence(StreamID)
    /// A merchant product's units on hand (nil: no longer tracked).
    case stockOnHand(SKU, Int64?)
    /// Units added to (or taken from) a tracked product's on hand: a restock, a count, an
    /// order confirmed without a hold. A delta, so that nodes of a cluster changing the
    /// same product never overwrite each other's changes. Nothing for an untracked one.
    /// `id` makes it count once when a batch is sent again (its answer was lost).
    case stockAdjusted(SKU, by: Int64, id: String)
    /// An accepted checkout holds these units of one merchant's products until it settles.
    case reservationOpened(checkoutID: String, merchant: String, units: [SKU: Int64])
    /// That merchant settled its part (or the checkout was given up): the hold ends.
    /// `confirmed`: its order was confirmed, so the units it held leave on hand too (of the
    /// products still tracked).
    case reservationClosed(checkoutID: String, merchant: String, confirmed: Bool)

    /// The stream it changes; nil for the inventory, which belongs to no stream.
    public var stream: StreamID? {
        switch self {
        case .created(let stream, _, _, _), .appended(let stream, _), .trimmed(let stream, _), .roomSaved(let stream, _),
            .archived(let stream, _), .removed(let stream), .fence(let stream):
            stream
        case .stockOnHand, .stockAdjusted, .reservationOpened, .reservationClosed:
            nil
        }
    }
}
