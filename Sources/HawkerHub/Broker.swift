import HawkerProtocol
import NIOCore

/// The one seam between publishers and the fan-out: orders an event in its stream and
/// gets it to every node's hub. In-process by default; a Redis broker can replace it
/// for several nodes without the sessions or the HTTP API changing.
public protocol Broker: Sendable {
    func publish(_ draft: EventDraft, to stream: StreamID) -> EventLoopFuture<PublishReceipt>
}

/// The single-node broker: the local hub sequences and fans out.
public struct InProcessBroker: Broker {
    private let hub: Hub

    public init(hub: Hub) {
        self.hub = hub
    }

    public func publish(_ draft: EventDraft, to stream: StreamID) -> EventLoopFuture<PublishReceipt> {
        hub.publish(draft, to: stream)
    }
}
