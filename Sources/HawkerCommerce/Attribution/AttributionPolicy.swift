import HawkerProtocol

/// Where the room gets the codes it may credit: the gateway's directory of registered
/// codes. Called on the stream's event loop for every checkout, so an implementation
/// answers from memory and is thread-safe.
public protocol AttributionPolicy: Sendable {
    /// The candidates for a checkout on `stream`, whose host (the token `sub` that created
    /// it) is `host`, at `now` (milliseconds since the Unix epoch).
    func candidates(for claim: CheckoutRequest.Attribution, stream: StreamID, host: String?, now: Int64) -> AttributionCandidates
}
