import HawkerProtocol
import NIOCore

/// The one seam between publishers and the fan-out: orders an event in its stream and
/// gets it to every node's hub. In-process by default; a Redis broker can replace it
/// for several nodes without the sessions or the HTTP API changing.
public protocol Broker: Sendable {
    /// Creates the stream if it does not exist yet, counted against `creator`'s quota.
    func publish(_ draft: EventDraft, to stream: StreamID, creator: StreamCreator) -> EventLoopFuture<PublishReceipt>
}

extension Broker {
    /// The gateway's own publishers (the demo, tests): no quota.
    public func publish(_ draft: EventDraft, to stream: StreamID) -> EventLoopFuture<PublishReceipt> {
        publish(draft, to: stream, creator: .gateway)
    }
}

/// The single-node broker: the local hub sequences and fans out.
public struct InProcessBroker: Broker {
    private let hub: Hub

    public init(hub: Hub) {
        self.hub = hub
    }

    public func publish(_ draft: EventDraft, to stream: StreamID, creator: StreamCreator) -> EventLoopFuture<PublishReceipt> {
        hub.publish(draft, to: stream, creator: creator)
    }
}
