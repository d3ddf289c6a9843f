import Tracing

/// Traces of checkouts, from the buyer's command to the merchant's backend
/// (`tracing.otlp_endpoint`; PRODUCTION.md lists the spans and their attributes).
///
/// A checkout is one trace: `hawker.checkout` (the command until its answer) with
/// `hawker.checkout.reserve` (the stream's decision) and `hawker.checkout.record` (the
/// outbox commit) inside it, then one `hawker.order.deliver` per delivery attempt. Attempts
/// happen later, maybe after a restart or on another node, so the checkout's trace context
/// is stored with it in the outbox (`OutboxDelivery.traceContext`), and each attempt hands
/// its own context to the backend (a webhook sends it as `traceparent`).
///
/// The tracer is injected (OpenTelemetry in the gateway, an in-memory one in tests); with
/// none, every call here is one branch and nothing is allocated.
public struct OrderTracing: Sendable {
    public let tracer: (any Tracer)?

    public init(tracer: (any Tracer)?) {
        self.tracer = tracer
    }

    public static let off = OrderTracing(tracer: nil)

    /// The span names (documented: operators build queries and alerts on them).
    public enum SpanName {
        public static let checkout = "hawker.checkout"
        public static let reserve = "hawker.checkout.reserve"
        public static let record = "hawker.checkout.record"
        public static let deliver = "hawker.order.deliver"
    }

    /// The attributes spans carry (no buyer ids: traces often leave the company).
    public enum Attribute {
        public static let stream = "hawker.stream"
        public static let checkoutID = "hawker.checkout.id"
        public static let lines = "hawker.checkout.lines"
        public static let outcome = "hawker.checkout.outcome"
        public static let refusal = "hawker.checkout.refusal"
        public static let reserved = "hawker.checkout.reserved"
        public static let replayed = "hawker.checkout.replayed"
        public static let merchant = "hawker.merchant"
        public static let backend = "hawker.order.backend"
        public static let attempt = "hawker.order.attempt"
        public static let orderOutcome = "hawker.order.outcome"
        public static let reference = "hawker.order.reference"
        public static let reason = "hawker.order.reason"
    }

    /// Every span and attribute name, for the documentation's test.
    public static let names: [String] = [
        SpanName.checkout, SpanName.reserve, SpanName.record, SpanName.deliver,
        Attribute.stream, Attribute.checkoutID, Attribute.lines, Attribute.outcome, Attribute.refusal, Attribute.reserved, Attribute.replayed,
        Attribute.merchant, Attribute.backend, Attribute.attempt, Attribute.orderOutcome, Attribute.reference, Attribute.reason,
    ]

    /// A span under `parent`, or nil when tracing is off.
    public func start(_ name: String, kind: SpanKind = .internal, parent: InstrumentationContext = .topLevel) -> (any Span)? {
        guard let tracer else { return nil }
        return tracer.startSpan(name, context: parent, ofKind: kind)
    }

    /// A span continuing a stored or received context (`carrier(for:)`), or nil when off.
    public func start(_ name: String, kind: SpanKind = .internal, continuing carrier: [String: String]) -> (any Span)? {
        guard tracer != nil else { return nil }
        return start(name, kind: kind, parent: context(from: carrier))
    }

    /// What carries `span`'s context on, or nothing for a span that is not recorded (a
    /// checkout the sampler left out: its deliveries are not traced either).
    public func carrier(for span: any Span) -> [String: String] {
        span.isRecording ? carrier(for: span.context) : [:]
    }

    /// What carries `context` to another process or into the outbox: with OpenTelemetry,
    /// `traceparent` (and `tracestate`). Empty when tracing is off.
    public func carrier(for context: InstrumentationContext) -> [String: String] {
        guard let tracer else { return [:] }
        var carrier: [String: String] = [:]
        tracer.inject(context, into: &carrier, using: DictionaryPropagation())
        return carrier.filter { Self.isCarried($0.key, $0.value) }
    }

    /// The context a carrier holds; top-level when it holds none (or tracing is off).
    public func context(from carrier: [String: String]) -> InstrumentationContext {
        var context = InstrumentationContext.topLevel
        guard let tracer, !carrier.isEmpty else { return context }
        tracer.extract(carrier, into: &context, using: DictionaryPropagation())
        return context
    }

    /// Entries a carrier may hold: header-safe names and values of bounded size, since they
    /// are stored with each checkout and sent as HTTP headers.
    public static func isCarried(_ name: String, _ value: String) -> Bool {
        (1...64).contains(name.utf8.count) && value.utf8.count <= 512
            && name.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }
            && value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }

    /// The entries a webhook sends as HTTP headers: W3C trace context only, whatever else
    /// a stored carrier holds (a shared outbox is not trusted to name headers).
    public static func isHTTPHeader(_ name: String) -> Bool {
        let lowercased = name.lowercased()
        return lowercased == "traceparent" || lowercased == "tracestate"
    }

    /// At most this many entries are kept per carrier.
    public static let maxCarriedEntries = 8
}

/// Injects into and extracts from a `[String: String]` carrier.
private struct DictionaryPropagation: Injector, Extractor {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        guard carrier.count < OrderTracing.maxCarriedEntries else { return }
        carrier[key] = value
    }

    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}
