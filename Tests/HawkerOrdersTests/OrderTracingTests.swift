@_spi(Fuzzing) import HawkerOrders
import InMemoryTracing
import Testing
import Tracing

/// The trace context a checkout carries into the outbox and out to merchants' webhooks.
@Suite struct OrderTracingTests {
    @Test func offTracesNothingAndCarriesNothing() {
        let tracing = OrderTracing.off
        #expect(tracing.start(OrderTracing.SpanName.checkout) == nil)
        #expect(tracing.carrier(for: .topLevel).isEmpty)
        #expect(tracing.start(OrderTracing.SpanName.deliver, continuing: ["traceparent": "00-x"]) == nil)
    }

    @Test func aCarrierContinuesTheTraceItWasTakenFrom() throws {
        let tracer = InMemoryTracer()
        let tracing = OrderTracing(tracer: tracer)
        let checkout = try #require(tracing.start(OrderTracing.SpanName.checkout, kind: .server))
        let carrier = tracing.carrier(for: checkout.context)
        #expect(!carrier.isEmpty)
        let deliver = try #require(tracing.start(OrderTracing.SpanName.deliver, kind: .client, continuing: carrier))
        deliver.end()
        checkout.end()
        let spans = Dictionary(uniqueKeysWithValues: tracer.finishedSpans.map { ($0.operationName, $0) })
        #expect(spans[OrderTracing.SpanName.deliver]?.traceID == spans[OrderTracing.SpanName.checkout]?.traceID)
        #expect(spans[OrderTracing.SpanName.deliver]?.parentSpanID == spans[OrderTracing.SpanName.checkout]?.spanID)
    }

    /// Stored entries become HTTP headers: what could split a header or grow without bound
    /// is dropped when read back.
    @Test func storedEntriesThatCouldNotBeHeadersAreDropped() throws {
        let document = """
            {"checkoutID":"c1","buyer":"b","region":"DE","idempotencyKey":"k","createdAt":1,"lines":[],\
            "trace":{"traceparent":"00-ok","x-evil":"a\\r\\nHawker-Signature: forged","bad name":"v","long":"\(String(repeating: "x", count: 600))","n":1}}
            """
        let (_, trace) = try OutboxCoding.decodeCheckout(document)
        #expect(trace == ["traceparent": "00-ok"])
        #expect(!OrderTracing.isCarried("", "v"))
        #expect(!OrderTracing.isCarried("traceparent", "a\nb"))
        #expect(OrderTracing.isCarried("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"))
    }
}
