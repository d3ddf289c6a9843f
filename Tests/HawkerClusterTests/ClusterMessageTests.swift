import HawkerCommerce
import HawkerHub
import HawkerProtocol
import NIOCore
import Testing

@testable import HawkerCluster

/// What nodes send each other reads back as it was written, every case of it; what does
/// not read is refused, never guessed.
@Suite struct ClusterMessageTests {
    static let stream = StreamID("sale")!
    static let author = Author(user: "ana", name: "Ana", role: "moderator", isStaff: true)

    static let requests: [ClusterRequest] = [
        .publish(EventDraft(restoring: .priceChanged, data: ["product": "tee", "price": 1_900, "currency": "EUR"]), stream: stream, creator: .user("host-1")),
        .publish(EventDraft(restoring: .announcement, data: ["text": "ünïcode \"quoted\"\n"]), stream: stream, creator: .gateway),
        .perform(.chat(text: "hello"), author: author, stream: stream),
        .perform(.ask(text: "blue?"), author: Author(user: "ben", name: nil, role: "viewer", isStaff: false), stream: stream),
        .perform(.upvote(question: "q1"), author: author, stream: stream),
        .perform(.answer(question: "q1", answer: "yes"), author: author, stream: stream),
        .perform(.answer(question: "q1", answer: nil), author: author, stream: stream),
        .perform(.intent(product: "tee", variant: "m", action: .addToCart), author: author, stream: stream),
        .perform(.intent(product: "tee", variant: nil, action: .view), author: author, stream: stream),
        .perform(.moderate(.deleteMessage("m1")), author: author, stream: stream),
        .perform(.moderate(.timeout(user: "troll", durationMilliseconds: 60_000)), author: author, stream: stream),
        .perform(.moderate(.ban(user: "troll")), author: author, stream: stream),
        .perform(.moderate(.shadowBan(user: "troll")), author: author, stream: stream),
        .perform(.moderate(.unban(user: "troll")), author: author, stream: stream),
        .perform(.moderate(.slowMode(intervalMilliseconds: 5_000)), author: author, stream: stream),
        .perform(.moderate(.bannedWords(["spam", "scam"])), author: author, stream: stream),
        .checkout(
            CheckoutRequest(
                lines: [.init(product: "tee", variant: "m", quantity: 2, priceSeen: 1_900), .init(product: "cap", variant: nil, quantity: 1, priceSeen: 500)],
                shipTo: "DE", attribution: .init(code: "ANA10", stream: "sale", referrer: "ig"), idempotencyKey: "k1"),
            buyer: "ben", checkoutID: "ck_1", stream: stream),
        .abandon(reservation, stream: stream),
        .returned(reservation, stream: stream),
        .settle(checkoutID: "ck_1", merchant: "m1", confirmed: true, stream: stream),
        .forgetCheckout(checkoutID: "ck_1", stream: stream),
        .snapshot(stream),
        .insights(stream),
    ]

    static let reservation = Reservation(
        checkoutID: "ck_1", buyer: "ben",
        lines: [.init(product: "tee", variant: "m", quantity: 2, unitPrice: 1_900, currency: "EUR", merchant: "m1", sale: "flash")],
        region: "DE", attribution: .init(code: "ANA10"), idempotencyKey: "k1", createdAt: 1_700_000_000_000)

    @Test(arguments: requests)
    func everyRequestReadsBackAsItWasWritten(_ request: ClusterRequest) throws {
        let read = try #require(ClusterRequest(request.encoded))
        #expect(read == request)
        #expect(read.stream == Self.stream)
    }

    @Test func everyReplyReadsBackAsItWasWritten() throws {
        let receipt = PublishReceipt(stream: Self.stream, position: StreamPosition(epoch: "e1", seq: 42), timestamp: 7)
        func roundTrip(_ reply: ClusterReply) throws -> ClusterReply { try #require(ClusterReply(reply.encoded)) }

        guard case .published(let published) = try roundTrip(.published(receipt)) else { throw Unexpected() }
        #expect(published == receipt)
        guard case .outcome(.reply(let type, let body)) = try roundTrip(.outcome(.reply(type: .chatAccepted, body: ["id": "m1", "n": 3]))) else { throw Unexpected() }
        #expect(type == .chatAccepted && body == ["id": "m1", "n": 3])
        guard case .published(let answered) = try roundTrip(.outcome(.published(receipt))) else { throw Unexpected() }
        #expect(answered == receipt)

        let accepted = StreamRoom.CheckoutOutcome(result: .success(Self.reservation), replayed: true, stockEvents: [])
        guard case .checkout(let outcome) = try roundTrip(.checkout(accepted)) else { throw Unexpected() }
        #expect(try outcome.result.get() == Self.reservation && outcome.replayed)
        let rejection = CheckoutRejection(.insufficientStock, product: "tee", available: 3, "only 3 left")
        guard case .checkout(let refused) = try roundTrip(.checkout(.init(result: .failure(rejection), replayed: false, stockEvents: []))) else { throw Unexpected() }
        guard case .failure(let read) = refused.result else { throw Unexpected() }
        #expect(read == rejection)

        let snapshot = StreamSnapshot(position: StreamPosition(epoch: "e1", seq: 9), stateJSON: ByteBuffer(string: #"{"viewers":3}"#), archivedAt: 11)
        guard case .snapshot(let state?) = try roundTrip(.snapshot(snapshot)) else { throw Unexpected() }
        #expect(state.position == snapshot.position && state.archivedAt == 11 && String(buffer: state.stateJSON) == #"{"viewers":3}"#)
        guard case .snapshot(nil) = try roundTrip(.snapshot(nil)) else { throw Unexpected() }
        guard case .insights(let insights?) = try roundTrip(.insights(ByteBuffer(string: #"{"chat":{"messages":1}}"#))) else { throw Unexpected() }
        #expect(String(buffer: insights) == #"{"chat":{"messages":1}}"#)
        guard case .done = try roundTrip(.done) else { throw Unexpected() }

        for error in [
            HubError.streamNotFound, .streamQuotaReached, .tooManyStreams, .notStored, .storeBehind, .runsElsewhere,
            .rejected(RoomError(.rateLimited, "slow down", retryAfterMilliseconds: 900)), .rejected(RoomError(.forbidden, "banned")),
        ] {
            guard case .failed(let read) = try roundTrip(.failed(error)) else { throw Unexpected() }
            #expect(read == error)
        }
    }

    @Test func whatDoesNotReadIsRefused() {
        for text in [
            "", "{", "[]", #"{"op":"publish"}"#, #"{"op":"publish","stream":"s","kind":"no.such","data":{}}"#, #"{"op":"nope","stream":"s"}"#,
            #"{"op":"perform","stream":"s","author":{"user":"a","role":"viewer","staff":false},"action":{"a":"moderate","m":"ban_user"}}"#,
            #"{"op":"checkout","stream":"s","buyer":"b","checkout":"c","region":"DE","key":"k","lines":[{"product":"p"}]}"#,
        ] {
            #expect(ClusterRequest(ByteBuffer(string: text)) == nil, "\(text)")
        }
        for text in ["", #"{"r":"published"}"#, #"{"r":"failed","error":{"e":"what"}}"#, #"{"r":"checkout","replayed":false}"#] {
            #expect(ClusterReply(ByteBuffer(string: text)) == nil, "\(text)")
        }
    }

    struct Unexpected: Error {}
}
