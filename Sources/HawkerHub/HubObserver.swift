/// Told about fan-out as it happens, for metrics. Called on event loops: keep it cheap.
public protocol HubObserver: Sendable {
    func published()
    /// One hop delivered a frame of `bytes` to `subscribers` viewers on one loop,
    /// `latencyNanoseconds` after it was sequenced.
    func delivered(subscribers: Int, bytes: Int, latencyNanoseconds: Int64)
}
