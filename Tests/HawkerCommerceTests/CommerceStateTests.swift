import HawkerCommerce
import HawkerProtocol
import Testing

@Suite("CommerceState")
struct CommerceStateTests {
    let now: Int64 = 1_732_660_000_000

    private func refusal(_ body: () throws -> Void) -> ErrorCode? {
        do {
            try body()
            return nil
        } catch let error as RoomError {
            return error.code
        } catch {
            return .internalError
        }
    }

    @Test func catalogReplacesAndUnpinsWhatIsGone() throws {
        var state = CommerceState()
        _ = try state.apply(catalog(product("a"), product("b")), now: now)
        _ = try state.apply(draft(.productPinned, ["product": "a"]), now: now)
        _ = try state.apply(draft(.productPinned, ["product": "b"]), now: now)
        #expect(state.pinned == ["a", "b"])
        _ = try state.apply(catalog(product("b"), product("c")), now: now)
        #expect(state.catalog.all.map(\.id) == ["b", "c"])
        #expect(state.pinned == ["b"])
        #expect(refusal { _ = try state.apply(catalog(product("x"), product("x")), now: now) } == .invalidEvent)
        var small = CommerceState(limits: .init(maxProducts: 1))
        #expect(refusal { _ = try small.apply(catalog(product("x"), product("y")), now: now) } == .limitReached)
        _ = try small.apply(draft(.productUpsert, ["product": product("x")]), now: now)
        #expect(refusal { _ = try small.apply(draft(.productUpsert, ["product": product("y")]), now: now) } == .limitReached)
        // Replacing an existing product is not growth.
        _ = try small.apply(draft(.productUpsert, ["product": product("x", price: 5)]), now: now)
        #expect(small.catalog["x"]?.price == 5)
    }

    @Test func pinsAreBoundedAndMustBeInTheCatalog() throws {
        var state = CommerceState(limits: .init(maxPinned: 2))
        _ = try state.apply(catalog(product("a"), product("b"), product("c")), now: now)
        #expect(refusal { _ = try state.apply(draft(.productPinned, ["product": "zz"]), now: now) } == .unknownProduct)
        let first = try state.apply(draft(.productPinned, ["product": "a"]), now: now)
        #expect(first.data["pinned"] == ["a"])
        _ = try state.apply(draft(.productPinned, ["product": "b"]), now: now)
        // Pinning a pinned product is no change and no error.
        #expect(try state.apply(draft(.productPinned, ["product": "a"]), now: now).data["pinned"] == ["a", "b"])
        #expect(refusal { _ = try state.apply(draft(.productPinned, ["product": "c"]), now: now) } == .limitReached)
        let unpinned = try state.apply(draft(.productUnpinned, ["product": "a"]), now: now)
        #expect(unpinned.data["pinned"] == ["b"])
        #expect(try state.apply(draft(.productPinned, ["product": "c"]), now: now).data["pinned"] == ["b", "c"])
        let removed = try state.apply(draft(.productRemoved, ["product": "c"]), now: now)
        #expect(removed.data["pinned"] == ["b"])
        #expect(state.catalog["c"] == nil)
    }

    @Test func priceChangesFillPreviousAndFlagDrops() throws {
        var state = CommerceState()
        _ = try state.apply(catalog(product("a", price: 2_000)), now: now)
        let drop = try state.apply(draft(.priceChanged, ["product": "a", "price": 1_500]), now: now)
        #expect(drop.data["previous"] == 2_000)
        #expect(drop.data["drop"] == true)
        #expect(drop.data["currency"] == "EUR")
        #expect(drop.data["previous_price"] == 2_000)
        #expect(state.catalog["a"]?.previousPrice == 2_000)
        // A second drop keeps the original price struck through.
        _ = try state.apply(draft(.priceChanged, ["product": "a", "price": 1_200]), now: now)
        #expect(state.catalog["a"]?.previousPrice == 2_000)
        let rise = try state.apply(draft(.priceChanged, ["product": "a", "price": 1_300]), now: now)
        #expect(rise.data["drop"] == false)
        #expect(rise.data["previous"] == 1_200)
        #expect(state.catalog["a"]?.previousPrice == nil)
        #expect(refusal { _ = try state.apply(draft(.priceChanged, ["product": "a", "price": 1, "currency": "USD"]), now: now) } == .invalidEvent)
        #expect(refusal { _ = try state.apply(draft(.priceChanged, ["product": "nope", "price": 1]), now: now) } == .unknownProduct)
    }

    @Test func stockFlagsLowAndSoldOut() throws {
        var state = CommerceState()
        _ = try state.apply(catalog(product("a", stock: 50)), now: now)
        let low = try state.apply(draft(.stockChanged, ["product": "a", "level": 3]), now: now)
        #expect(low.data["low_stock"] == true)
        #expect(low.data["sold_out"] == false)
        #expect(low.data["low_stock_threshold"] == 5)
        let out = try state.apply(draft(.stockChanged, ["product": "a", "level": 0, "low_stock_threshold": 10]), now: now)
        #expect(out.data["sold_out"] == true)
        #expect(out.data["low_stock"] == false)
        #expect(state.catalog["a"]?.lowStockThreshold == 10)
    }

    @Test func aScheduledSaleStartsAndEndsOnTheServerClock() throws {
        var state = CommerceState()
        _ = try state.apply(catalog(product("a", price: 1_000)), now: now)
        let scheduled = try state.apply(
            draft(
                .saleScheduled,
                [
                    "sale": "s1", "items": [["product": "a", "price": 800]], "starts_at": .int(now + 60_000), "duration_ms": 120_000, "per_buyer_limit": 2,
                ]), now: now)
        #expect(scheduled.data["status"] == "scheduled")
        #expect(scheduled.data["ends_at"] == .int(now + 180_000))
        #expect(scheduled.data["items"] == [["product": "a", "price": 800, "currency": "EUR", "regular_price": 1_000]])
        #expect(state.nextTransition == now + 60_000)
        #expect(state.dueTransitions(now: now + 59_999).isEmpty)

        let started = state.dueTransitions(now: now + 60_000)
        #expect(started.map(\.kind) == [.saleStarted])
        #expect(started.first?.data["status"] == "active")
        #expect(state.activeSale(for: "a")?.id == "s1")
        // The state shows the countdown relative to its own server_time.
        let json = state.json(now: now + 90_000)
        #expect(json["sales"]?.arrayValue?.first?["remaining_ms"] == 90_000)

        let ended = state.dueTransitions(now: now + 180_000)
        #expect(ended.map(\.kind) == [.saleEnded])
        #expect(ended.first?.data["reason"] == "time")
        #expect(state.sales.isEmpty)
        #expect(state.nextTransition == nil)
    }

    @Test func aSaleCanStartNowOrBeEndedByTheHost() throws {
        var state = CommerceState()
        _ = try state.apply(catalog(product("a", price: 1_000)), now: now)
        _ = try state.apply(draft(.saleScheduled, ["sale": "s1", "items": [["product": "a", "price": 900]], "starts_at": .int(now + 3_600_000), "duration_ms": 60_000]), now: now)
        let early = try state.apply(draft(.saleStarted, ["sale": "s1"]), now: now + 10)
        #expect(early.data["starts_at"] == .int(now + 10))
        #expect(early.data["status"] == "active")
        #expect(refusal { _ = try state.apply(draft(.saleStarted, ["sale": "s1"]), now: now) } == .invalidEvent)
        #expect(refusal { _ = try state.apply(draft(.saleStarted, ["sale": "never-scheduled"]), now: now) } == .unknownSale)
        let direct = try state.apply(draft(.saleStarted, ["sale": "s2", "items": [["product": "a", "price": 500]], "duration_ms": 30_000]), now: now)
        #expect(direct.data["ends_at"] == .int(now + 30_000))
        let ended = try state.apply(draft(.saleEnded, ["sale": "s2"]), now: now + 5)
        #expect(ended.data["reason"] == "host")
        #expect(refusal { _ = try state.apply(draft(.saleEnded, ["sale": "s2"]), now: now) } == .unknownSale)
    }

    static let badSales: [([String: JSONValue], ErrorCode)] = [
        (["sale": "x", "items": [["product": "a", "price": 1_200]], "duration_ms": 1_000], .invalidEvent),  // above the regular price
        (["sale": "x", "items": [["product": "b", "price": 1]], "duration_ms": 1_000], .unknownProduct),
        (["sale": "x", "items": [], "duration_ms": 1_000], .invalidEvent),
        (["sale": "x", "items": [["product": "a", "price": 1]]], .invalidEvent),  // no end
        (["sale": "x", "items": [["product": "a", "price": 1]], "duration_ms": 90_000_000], .invalidEvent),  // longer than a day
        (["sale": "x", "items": [["product": "a", "price": 1], ["product": "a", "price": 2]], "duration_ms": 1_000], .invalidEvent),
    ]

    @Test(arguments: badSales)
    func badSalesAreRefused(_ data: [String: JSONValue], _ code: ErrorCode) throws {
        var state = CommerceState()
        _ = try state.apply(catalog(product("a", price: 1_000)), now: now)
        #expect(refusal { _ = try state.apply(draft(.saleStarted, data), now: now) } == code)
        #expect(state.sales.isEmpty)
    }

    @Test func scheduledSalesMustStartInTheFutureAndAreBounded() throws {
        var state = CommerceState(limits: .init(maxSales: 1))
        _ = try state.apply(catalog(product("a")), now: now)
        #expect(
            refusal { _ = try state.apply(draft(.saleScheduled, ["sale": "x", "items": [["product": "a", "price": 1]], "starts_at": .int(now), "duration_ms": 1_000]), now: now) } == .invalidEvent)
        _ = try state.apply(draft(.saleScheduled, ["sale": "x", "items": [["product": "a", "price": 1]], "starts_at": .int(now + 1), "duration_ms": 1_000]), now: now)
        #expect(
            refusal { _ = try state.apply(draft(.saleScheduled, ["sale": "y", "items": [["product": "a", "price": 1]], "starts_at": .int(now + 1), "duration_ms": 1_000]), now: now) } == .limitReached)
    }

    @Test func streamStatusAndAnnouncementAreInTheState() throws {
        var state = CommerceState()
        _ = try state.apply(draft(.streamStarted, ["title": "Show", "player_url": "https://video.example/x.m3u8"]), now: now)
        _ = try state.apply(draft(.announcement, ["text": "hi"]), now: now + 1)
        var json = state.json(now: now + 2)
        #expect(json["stream"] == ["status": "live", "title": "Show", "player_url": "https://video.example/x.m3u8", "started_at": .int(now)])
        #expect(json["announcement"] == ["text": "hi", "ts": .int(now + 1)])
        #expect(json["server_time"] == .int(now + 2))
        _ = try state.apply(draft(.streamEnded, [:]), now: now + 3)
        json = state.json(now: now + 4)
        #expect(json["stream"]?["status"] == "ended")
        #expect(json["stream"]?["ended_at"] == .int(now + 3))
    }
}
