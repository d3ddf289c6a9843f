import HawkerOrders
import HawkerProtocol
import NIOCore
import Testing

/// How the webhook backend reads a merchant's HTTP answers (PROTOCOL.md §11, "Webhook
/// backend"), against the test receiver that checks signatures from the spec.
@Suite struct WebhookOrderBackendTests {
    private func answer(_ behaviour: WebhookReceiver.Behaviour, timeout: TimeAmount = .seconds(5)) async throws -> BackendResult {
        let receiver = WebhookReceiver()
        try await receiver.start()
        receiver.behave(behaviour)
        let delivery = try #require(try await OrderBackendConformanceTests.deliveries(merchants: ["m1"]).first)
        let backend = WebhookOrderBackend(merchant: "m1", url: receiver.url, secret: receiver.secret, timeout: timeout)
        let result = await backend.deliver(delivery)
        #expect(receiver.requests.count == 1)
        #expect(receiver.requests.first?.signatureValid == true)
        #expect(receiver.requests.first?.timestampFresh == true)
        #expect(receiver.requests.first?.idempotencyKey == delivery.idempotencyKey)
        // Every field schemas/common.json orderRequestBody requires (a merchant that
        // validates the body refused every order while `attempt` and `replay` were missing).
        let body = receiver.requests.first?.body ?? [:]
        for field in ["checkout_id", "merchant", "idempotency_key", "stream", "buyer", "items", "region", "attribution", "created_at", "attempt", "replay"] {
            #expect(body[field] != nil, "the webhook body lacks \(field)")
        }
        #expect(body["attempt"] == .int(Int64(delivery.attempts + 1)))
        #expect(body["replay"] == false)
        await receiver.stop()
        return result
    }

    @Test func twoHundredsConfirmWithTheMerchantsReference() async throws {
        #expect(try await answer(.confirm) == .confirmed(reference: "WH-1"))
    }

    @Test(arguments: [400, 404, 409, 422])
    func clientErrorsRejectWithTheMerchantsReason(_ status: Int) async throws {
        #expect(try await answer(.reject(status: status, reason: "region closed")) == .rejected(reason: "region closed"))
    }

    @Test(arguments: [408, 429, 500, 502, 503])
    func busyAndServerErrorsAreRetried(_ status: Int) async throws {
        #expect(try await answer(.fail(status: status)) == .unavailable(error: "HTTP \(status)"))
    }

    @Test func aMerchantThatNeverAnswersTimesOutIntoARetry() async throws {
        guard case .unavailable = try await answer(.hang, timeout: .seconds(1)) else {
            Issue.record("a hung merchant must be retried")
            return
        }
    }

    @Test func aForgedSignatureIsRefusedByTheReceiver() async throws {
        let receiver = WebhookReceiver(secret: "the-merchants-real-secret")
        try await receiver.start()
        let delivery = try #require(try await OrderBackendConformanceTests.deliveries(merchants: ["m1"]).first)
        let forger = WebhookOrderBackend(merchant: "m1", url: receiver.url, secret: "a-guessed-secret-0000", timeout: .seconds(2))
        #expect(await forger.deliver(delivery) == .rejected(reason: "bad signature"))
        #expect(receiver.orders.isEmpty)
        // A replayed request from outside the window is refused too.
        let stale = WebhookOrderBackend(merchant: "m1", url: receiver.url, secret: receiver.secret, timeout: .seconds(2), clock: { 1_000_000 })
        #expect(await stale.deliver(delivery) == .rejected(reason: "bad signature"))
        #expect(receiver.requests.map(\.timestampFresh) == [true, false])
        await receiver.stop()
    }
}
