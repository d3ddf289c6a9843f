/// Checkout traces over OpenTelemetry (`tracing.*` keys): off unless an endpoint is set.
public struct TracingConfiguration: Sendable, Hashable {
    /// Base URL of an OTLP/HTTP receiver (a collector's `http://host:4318`); spans go to
    /// `<endpoint>/v1/traces`. nil: nothing is traced.
    public var otlpEndpoint: String?
    /// The share of checkouts traced, 0...1 (a checkout's deliveries follow its decision).
    public var sampleRatio = 1.0
    /// `service.name` on every span.
    public var serviceName = "hawker"

    public init() {}

    /// Where the spans are POSTed.
    var tracesURL: String? {
        guard var endpoint = otlpEndpoint else { return nil }
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        return endpoint + "/v1/traces"
    }
}
