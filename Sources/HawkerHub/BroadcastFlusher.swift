/// What holds a subscriber's broadcast writes until the end of a batch: the hub calls
/// `flushBroadcasts()` once per batch, on the subscriber's event loop. It may be another
/// object than the subscriber (a gateway session hands out its socket's writer), so that
/// the flush pass over thousands of viewers touches only what the flush needs.
public protocol BroadcastFlusher: AnyObject {
    func flushBroadcasts()
}
