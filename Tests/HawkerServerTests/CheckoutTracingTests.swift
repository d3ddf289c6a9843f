import Foundation
import HawkerAuth
import HawkerOrders
import HawkerProtocol
import HawkerServer
import InMemoryTracing
import Logging
import NIOHTTP1
import ServiceLifecycle
import Testing
import Tracing

/// Checkout traces (`tracing.*`, PRODUCTION.md "Traces"): one trace per checkout from the
/// buyer's command to the merchant's webhook, kept across a restart through the outbox,
/// exported over OTLP/HTTP to a collector.
@Suite struct CheckoutTracingTests {
    /// Unique ids, so that a trace id seen after a restart can only have come from the outbox.
    private static func tracer() -> InMemoryTracer {
        InMemoryTracer(idGenerator: .init(nextTraceID: { "t-" + UUID().uuidString }, nextSpanID: { "s-" + UUID().uuidString }))
    }

    private static func checkout(product: String = "p1", key: String) -> [String: JSONValue] {
        [
            "type": "checkout", "id": "k", "stream": "shop",
            "items": [["product": .string(product), "qty": 1, "price_seen": 1_000]],
            "region": "DE", "idempotency_key": .string(key),
        ]
    }

    /// Finished spans named `name`, once there are `count` of them.
    private static func finished(_ tracer: InMemoryTracer, _ name: String, count: Int = 1) async throws -> [FinishedInMemorySpan] {
        for _ in 0..<3_000 {
            let spans = tracer.finishedSpans.filter { $0.operationName == name }
            if spans.count >= count { return spans }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw WaitTimeout(description: "\(count) finished \(name) spans; have \(tracer.finishedSpans.map(\.operationName))")
    }

    private static func webhook(_ receiver: WebhookReceiver, retryBase: Int64 = 50) -> (inout GatewayConfiguration) -> Void {
        { configuration in
            var merchant = MerchantBackendConfiguration(kind: .webhook)
            merchant.url = receiver.url
            merchant.secret = receiver.secret
            merchant.timeoutMilliseconds = 5_000
            configuration.orders.merchants["m1"] = merchant
            configuration.orders.retry.baseDelayMilliseconds = retryBase
            configuration.orders.retry.maxDelayMilliseconds = retryBase
        }
    }

    @Test func aCheckoutIsOneTraceFromTheBuyersCommandToTheMerchantsWebhook() async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        let tracer = Self.tracer()
        let server = try await TestGateway.start(tracer: tracer, Self.webhook(receiver))
        try await server.catalog("shop", ["p1"])
        _ = try await server.publish("shop", "product.pinned", ["product": "p1"])
        let buyer = try await server.client(.viewer, streams: ["shop"], sub: "ana")
        let accepted = try await buyer.request(Self.checkout(key: "cart-1"))
        #expect(accepted["type"] == "checkout.accepted")
        let checkoutID = try #require(accepted["checkout_id"]?.stringValue)
        _ = try await buyer.next("order.confirmed")

        let checkout = try #require(try await Self.finished(tracer, OrderTracing.SpanName.checkout).first)
        let reserve = try #require(try await Self.finished(tracer, OrderTracing.SpanName.reserve).first)
        let record = try #require(try await Self.finished(tracer, OrderTracing.SpanName.record).first)
        let deliver = try #require(try await Self.finished(tracer, OrderTracing.SpanName.deliver).first)
        #expect(checkout.kind == .server)
        #expect(checkout.parentSpanID == nil)
        #expect(checkout.attributes[OrderTracing.Attribute.outcome]?.toSpanAttribute() == "accepted")
        #expect(checkout.attributes[OrderTracing.Attribute.checkoutID]?.toSpanAttribute() == .string(checkoutID))
        #expect(checkout.attributes[OrderTracing.Attribute.stream]?.toSpanAttribute() == "shop")
        #expect(checkout.status == nil)
        #expect(reserve.attributes[OrderTracing.Attribute.reserved]?.toSpanAttribute() == true)
        // Every step of the checkout, and the delivery, in the checkout's trace under its span.
        for span in [reserve, record, deliver] {
            #expect(span.traceID == checkout.traceID, "\(span.operationName) is in another trace")
            #expect(span.parentSpanID == checkout.spanID, "\(span.operationName) is not under hawker.checkout")
        }
        #expect(deliver.kind == .client)
        #expect(deliver.attributes[OrderTracing.Attribute.merchant]?.toSpanAttribute() == "m1")
        #expect(deliver.attributes[OrderTracing.Attribute.backend]?.toSpanAttribute() == "webhook:m1")
        #expect(deliver.attributes[OrderTracing.Attribute.attempt]?.toSpanAttribute() == 1)
        #expect(deliver.attributes[OrderTracing.Attribute.orderOutcome]?.toSpanAttribute() == "confirmed")
        #expect(deliver.attributes[OrderTracing.Attribute.checkoutID]?.toSpanAttribute() == .string(checkoutID))

        // Only W3C trace context becomes HTTP headers (this tracer's own fields do not;
        // the OpenTelemetry test below sees `traceparent` arrive).
        let request = try #require(receiver.requests.first)
        #expect(request.headers.first(name: InMemoryTracer.traceIDKey) == nil)
        #expect(request.signatureValid)
        await buyer.close()
        await server.stop()
        await receiver.stop()
    }

    /// An order service gets the attempt's context in `order.requested`'s `trace`; the
    /// attempt's span ends with the service's `ack`.
    @Test func anOrderServiceGetsTheTraceInOrderRequested() async throws {
        let tracer = Self.tracer()
        let server = try await TestGateway.start(tracer: tracer) { configuration in
            configuration.orders.merchants["m1"] = MerchantBackendConfiguration(kind: .orderService)
        }
        try await server.catalog("shop", ["p1"])
        _ = try await server.publish("shop", "product.pinned", ["product": "p1"])
        let service = try await server.client(.orderService, streams: [], sub: "svc", merchant: "m1")
        #expect(try await service.request(["type": "orders.subscribe", "id": "o"])["type"] == "orders.subscribed")
        let buyer = try await server.client(.viewer, streams: ["shop"], sub: "ed")
        #expect(try await buyer.request(Self.checkout(key: "cart-1"))["type"] == "checkout.accepted")

        let order = try await service.next("order.requested")
        let checkout = try #require(try await Self.finished(tracer, OrderTracing.SpanName.checkout).first)
        let trace = try #require(order["trace"]?.objectValue)
        #expect(trace[InMemoryTracer.traceIDKey]?.stringValue == checkout.traceID)
        let attemptSpanID = try #require(trace[InMemoryTracer.spanIDKey]?.stringValue)
        let acked = try await service.request(["type": "ack", "id": "a", "delivery": order["delivery"]!, "result": "confirmed", "reference": "ORD-1"])
        #expect(acked["type"] == "acked")
        let deliver = try #require(try await Self.finished(tracer, OrderTracing.SpanName.deliver).first)
        #expect(deliver.spanID == attemptSpanID)
        #expect(deliver.parentSpanID == checkout.spanID)
        #expect(deliver.attributes[OrderTracing.Attribute.backend]?.toSpanAttribute() == "order_service:m1")
        #expect(deliver.attributes[OrderTracing.Attribute.reference]?.toSpanAttribute() == "ORD-1")
        await service.close()
        await buyer.close()
        await server.stop()
    }

    @Test func aRefusedCheckoutIsTracedWithItsCodeAndNeverDelivered() async throws {
        let tracer = Self.tracer()
        let server = try await TestGateway.start(tracer: tracer)
        try await server.catalog("shop", ["p1"])
        _ = try await server.publish("shop", "product.pinned", ["product": "p1"])
        let buyer = try await server.client(.viewer, streams: ["shop"], sub: "bo")
        let refused = try await buyer.request(Self.checkout(product: "nope", key: "cart-1"))
        #expect(refused["code"] == "unknown_product")

        let checkout = try #require(try await Self.finished(tracer, OrderTracing.SpanName.checkout).first)
        #expect(checkout.attributes[OrderTracing.Attribute.outcome]?.toSpanAttribute() == "refused")
        #expect(checkout.attributes[OrderTracing.Attribute.refusal]?.toSpanAttribute() == "unknown_product")
        // The buyer asked for what could not be had: an outcome, not an error of the gateway.
        #expect(checkout.status == nil)
        let reserve = try #require(try await Self.finished(tracer, OrderTracing.SpanName.reserve).first)
        #expect(reserve.attributes[OrderTracing.Attribute.reserved]?.toSpanAttribute() == false)
        #expect(tracer.finishedSpans.allSatisfy { $0.operationName != OrderTracing.SpanName.record && $0.operationName != OrderTracing.SpanName.deliver })
        await buyer.close()
        await server.stop()
    }

    /// The trace context is stored with the checkout: an attempt made after a restart, by a
    /// process with a new tracer, is still a span of the checkout's trace.
    @Test func aDeliveryRetriedAfterARestartStaysInTheCheckoutsTrace() async throws {
        let receiver = WebhookReceiver()
        try await receiver.start()
        receiver.behave(.fail(status: 503))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-trace-\(UUID().uuidString)").path
        let before = Self.tracer()
        // Retried every 50 ms while it fails, so that the next attempt is due when the second
        // process starts.
        let first = try await TestGateway.start(tracer: before) { configuration in
            Self.webhook(receiver)(&configuration)
            configuration.dataDirectory = directory
        }
        try await first.catalog("shop", ["p1"])
        _ = try await first.publish("shop", "product.pinned", ["product": "p1"])
        let buyer = try await first.client(.viewer, streams: ["shop"], sub: "cy")
        #expect(try await buyer.request(Self.checkout(key: "cart-1"))["type"] == "checkout.accepted")
        let failed = try #require(try await Self.finished(before, OrderTracing.SpanName.deliver).first)
        #expect(failed.status?.code == .error)
        #expect(failed.attributes[OrderTracing.Attribute.orderOutcome]?.toSpanAttribute() == "unavailable")
        let checkout = try #require(try await Self.finished(before, OrderTracing.SpanName.checkout).first)
        await buyer.close()
        await first.stop()

        let attemptsBefore = before.finishedSpans.filter { $0.operationName == OrderTracing.SpanName.deliver }
        #expect(attemptsBefore.allSatisfy { $0.traceID == checkout.traceID })

        receiver.behave(.confirm)
        let after = Self.tracer()
        let second = try await TestGateway.start(tracer: after) { configuration in
            Self.webhook(receiver)(&configuration)
            configuration.dataDirectory = directory
        }
        try await receiver.waitForOrders(atLeast: 1)
        let retried = try #require(try await Self.finished(after, OrderTracing.SpanName.deliver).first)
        #expect(retried.traceID == checkout.traceID)
        #expect(retried.parentSpanID == checkout.spanID)
        let attempt = try #require(receiver.requests.last?.body["attempt"]?.intValue)
        #expect(attempt >= 2)
        #expect(retried.attributes[OrderTracing.Attribute.attempt]?.toSpanAttribute() == .int64(attempt))
        #expect(retried.attributes[OrderTracing.Attribute.orderOutcome]?.toSpanAttribute() == "confirmed")
        await second.stop()
        await receiver.stop()
    }

    /// With `tracing.otlp_endpoint` the gateway's own OpenTelemetry exporter sends the spans
    /// to a collector; stopping the exporter after the gateway sends what is left.
    @Test func checkoutTracesReachAnOpenTelemetryCollector() async throws {
        let collector = OTLPCollector()
        let endpoint = try await collector.start()
        let receiver = WebhookReceiver()
        try await receiver.start()
        let server = try await TestGateway.start { configuration in
            Self.webhook(receiver)(&configuration)
            configuration.tracing.otlpEndpoint = endpoint + "/"
            configuration.tracing.serviceName = "hawker-under-test"
        }
        let exporter = try #require(server.gateway.tracingService)
        let services = ServiceGroup(configuration: .init(services: [exporter], logger: Logger(label: "otel")))
        let running = Task { try await services.run() }
        try await server.catalog("shop", ["p1"])
        _ = try await server.publish("shop", "product.pinned", ["product": "p1"])
        let buyer = try await server.client(.viewer, streams: ["shop"], sub: "di")
        let accepted = try await buyer.request(Self.checkout(key: "cart-1"))
        let checkoutID = try #require(accepted["checkout_id"]?.stringValue)
        _ = try await buyer.next("order.confirmed")
        await buyer.close()
        await server.stop()
        await services.triggerGracefulShutdown()
        try await running.value

        // The webhook got the attempt's W3C context: version 00, a trace id, its span id,
        // sampled; and the collector got spans of that trace (ids travel as raw bytes).
        let traceparent = try #require(receiver.requests.first?.headers.first(name: "traceparent"))
        let fields = traceparent.split(separator: "-").map(String.init)
        #expect(fields.count == 4 && fields[0] == "00" && fields[1].count == 32 && fields[2].count == 16 && fields[3] == "01", "\(traceparent)")
        let traceID = stride(from: 0, to: fields[1].count, by: 2).compactMap { offset -> UInt8? in
            let start = fields[1].index(fields[1].startIndex, offsetBy: offset)
            return UInt8(fields[1][start..<fields[1].index(start, offsetBy: 2)], radix: 16)
        }
        #expect(collector.received.contains { $0.contains(bytes: traceID) }, "no exported span is in the webhook's trace")
        await receiver.stop()

        let exports = collector.received
        #expect(!exports.isEmpty)
        #expect(exports.allSatisfy { $0.path == "/v1/traces" && $0.contentType == "application/x-protobuf" })
        for text in [
            "hawker-under-test", checkoutID, OrderTracing.SpanName.checkout, OrderTracing.SpanName.reserve, OrderTracing.SpanName.record,
            OrderTracing.SpanName.deliver,
        ] {
            #expect(exports.contains { $0.contains(text) }, "no export holds \(text)")
        }
        await collector.stop()
    }
}
