import Foundation
import HawkerCommerce

/// A push of a stream's room (a chat batch, questions, presence, intents...), as the node
/// that runs the stream sends it to the nodes mirroring it: sent once for the cluster, and
/// fanned out by each node to its own subscribers of that audience. Not stored.
public struct StreamPush: Sendable, Hashable {
    public var audience: Audience
    /// Pushes with the same key supersede each other for a viewer that is behind.
    public var coalescingKey: String?
    /// Messages it carries (a chat batch's), for the delivery counters.
    public var itemCount: Int
    /// The push message's JSON, as viewers receive it.
    public var payload: Data

    public init(audience: Audience, coalescingKey: String?, itemCount: Int, payload: Data) {
        self.audience = audience
        self.coalescingKey = coalescingKey
        self.itemCount = itemCount
        self.payload = payload
    }
}
