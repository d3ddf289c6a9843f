import HawkerHub
import HawkerProtocol
import NIOCore
import Testing

@Suite("StreamState")
struct StreamStateTests {

    private func makeState(capacity: Int = 100, maxAge: Int64 = 60_000) -> StreamState {
        StreamState(stream: stream("shop-42"), epoch: "e0", historyCapacity: capacity, historyMaxAgeMilliseconds: maxAge)
    }

    private func frame(_ event: StreamEvent) -> BroadcastFrame {
        BroadcastFrame(seq: event.seq, plain: ByteBuffer(string: "frame \(event.seq)"), deflated: nil, sequencedAt: .uptimeNanoseconds(0))
    }

    @discardableResult
    private func append(_ state: inout StreamState, _ draft: EventDraft, at now: Int64 = 1_000) -> StreamEvent {
        state.append(draft, now: now, frame: frame).0
    }

    private func replayed(_ start: StreamState.Start) -> [UInt64]? {
        if case .replay(let frames) = start { return frames.map(\.seq) }
        return nil
    }

    private func isSnapshot(_ start: StreamState.Start) -> Bool {
        if case .snapshot = start { return true }
        return false
    }

    // MARK: - Sequencing

    @Test func seqIncrementsFromOne() {
        var state = makeState()
        #expect(state.seq == 0)
        #expect(state.position == StreamPosition(epoch: "e0", seq: 0))
        for expected in UInt64(1)...5 {
            let event = append(&state, announcement("n\(expected)"), at: Int64(expected) * 10)
            #expect(event.seq == expected)
            #expect(event.epoch == "e0")
            #expect(event.stream == stream("shop-42"))
            #expect(event.timestamp == Int64(expected) * 10)
        }
        #expect(state.seq == 5)
        #expect(state.position == StreamPosition(epoch: "e0", seq: 5))
    }

    @Test func appendReturnsTheFrameItMade() {
        var state = makeState()
        let (event, framed) = state.append(announcement("x"), now: 1, frame: frame)
        #expect(framed.seq == event.seq)
        #expect(String(buffer: framed.plain) == "frame 1")
    }

    // MARK: - Snapshot

    @Test func snapshotKeepsTheLatestPerStateKeyInSeqOrder() {
        var state = makeState()
        append(&state, draft(.streamStarted, ["title": "Show"]))  // 1 stream
        append(&state, draft(.productPinned, ["product": "sku-1"]))  // 2 pinned
        append(&state, draft(.stockChanged, ["product": "sku-1", "level": 9]))  // 3 stock:sku-1
        append(&state, price("sku-1", 100))  // 4 price:sku-1
        append(&state, draft(.stockChanged, ["product": "sku-1", "level": 7]))  // 5 replaces 3
        append(&state, announcement("hello"))  // 6
        append(&state, draft(.productUnpinned, ["product": "sku-1"]))  // 7 replaces 2
        append(&state, price("sku-2", 50))  // 8 price:sku-2
        append(&state, announcement("bye"))  // 9 replaces 6

        let snapshot = state.snapshot
        #expect(snapshot.map(\.seq) == [1, 4, 5, 7, 8, 9])
        #expect(snapshot.map(\.stateKey) == ["stream", "price:sku-1", "stock:sku-1", "pinned", "price:sku-2", "announcement"])
        #expect(snapshot.first { $0.stateKey == "stock:sku-1" }?.data["level"] == 7)
        #expect(snapshot.last?.data["text"] == "bye")
    }

    @Test func emptySnapshot() {
        #expect(makeState().snapshot.isEmpty)
    }

    // MARK: - previous price

    @Test func priceChangedGetsPreviousFromTheLastPriceOfThatProduct() {
        var state = makeState()
        let first = append(&state, price("sku-1", 1799))
        #expect(first.data["previous"] == nil)

        let otherProduct = append(&state, price("sku-2", 500))
        #expect(otherProduct.data["previous"] == nil)

        let second = append(&state, price("sku-1", 1499))
        #expect(second.data["previous"] == 1799)
        let third = append(&state, price("sku-1", 1299))
        #expect(third.data["previous"] == 1499)
        #expect(third.data["price"] == 1299)
        #expect(state.snapshot.last?.data["previous"] == 1499)
    }

    @Test func clientSentPreviousIsReplacedOrRemoved() {
        var state = makeState()
        let first = append(&state, draft(.priceChanged, ["product": "sku-1", "price": 10, "currency": "EUR", "previous": 5]))
        #expect(first.data["previous"] == nil)
        let second = append(&state, draft(.priceChanged, ["product": "sku-1", "price": 20, "currency": "EUR", "previous": 5]))
        #expect(second.data["previous"] == 10)
    }

    /// PROTOCOL.md §8 (and vector 18): with no price entry yet, the pinned price of the
    /// same product is the previous one.
    @Test func previousFallsBackToThePinnedPriceOfTheSameProduct() {
        var state = makeState()
        append(&state, draft(.productPinned, ["product": "sku:9", "title": "Tea", "price": 2500, "currency": "USD"]))
        let changed = append(&state, draft(.priceChanged, ["product": "sku:9", "price": 2000, "currency": "USD"]))
        #expect(changed.data["previous"] == 2500)

        let other = append(&state, price("sku-other", 1))
        #expect(other.data["previous"] == nil)  // pinned is another product
    }

    // MARK: - Resume

    @Test func startWithoutSinceIsASnapshot() {
        var state = makeState()
        append(&state, announcement("a"))
        #expect(isSnapshot(state.start(since: nil, now: 1_000)))
    }

    @Test func startReplaysExactlyTheMissedFrames() {
        var state = makeState()
        for n in 1...6 { append(&state, announcement("n\(n)")) }
        #expect(replayed(state.start(since: StreamPosition(epoch: "e0", seq: 3), now: 1_000)) == [4, 5, 6])
        #expect(replayed(state.start(since: StreamPosition(epoch: "e0", seq: 0), now: 1_000)) == [1, 2, 3, 4, 5, 6])
        #expect(replayed(state.start(since: StreamPosition(epoch: "e0", seq: 5), now: 1_000)) == [6])
    }

    @Test func replayedFramesAreTheRecordedOnes() {
        var state = makeState()
        for n in 1...3 { append(&state, announcement("n\(n)")) }
        guard case .replay(let frames) = state.start(since: StreamPosition(epoch: "e0", seq: 1), now: 1_000) else {
            Issue.record("replay expected")
            return
        }
        #expect(frames.map { String(buffer: $0.plain) } == ["frame 2", "frame 3"])
    }

    @Test func startIsAnEmptyReplayWhenUpToDate() {
        var state = makeState()
        #expect(replayed(state.start(since: StreamPosition(epoch: "e0", seq: 0), now: 1_000)) == [])
        for n in 1...3 { append(&state, announcement("n\(n)")) }
        #expect(replayed(state.start(since: StreamPosition(epoch: "e0", seq: 3), now: 1_000)) == [])
    }

    @Test func startIsASnapshotWhenTheEpochDiffers() {
        var state = makeState()
        for n in 1...3 { append(&state, announcement("n\(n)")) }
        #expect(isSnapshot(state.start(since: StreamPosition(epoch: "other", seq: 2), now: 1_000)))
        #expect(isSnapshot(state.start(since: StreamPosition(epoch: "other", seq: 3), now: 1_000)))
    }

    @Test func startIsASnapshotWhenSinceIsAhead() {
        var state = makeState()
        for n in 1...3 { append(&state, announcement("n\(n)")) }
        #expect(isSnapshot(state.start(since: StreamPosition(epoch: "e0", seq: 4), now: 1_000)))
        var empty = makeState()
        #expect(isSnapshot(empty.start(since: StreamPosition(epoch: "e0", seq: 1), now: 1_000)))
    }

    @Test func startIsASnapshotWhenTheGapIsOlderThanTheRing() {
        var state = makeState(capacity: 3)
        for n in 1...5 { append(&state, announcement("n\(n)")) }
        #expect(state.historyCount == 3)  // holds 3, 4, 5
        #expect(isSnapshot(state.start(since: StreamPosition(epoch: "e0", seq: 0), now: 1_000)))
        #expect(isSnapshot(state.start(since: StreamPosition(epoch: "e0", seq: 1), now: 1_000)))
        #expect(replayed(state.start(since: StreamPosition(epoch: "e0", seq: 2), now: 1_000)) == [3, 4, 5])
        #expect(replayed(state.start(since: StreamPosition(epoch: "e0", seq: 4), now: 1_000)) == [5])
    }

    @Test func startIsASnapshotWhenTheGapIsOlderThanTheMaxAge() {
        var state = makeState(maxAge: 1_000)
        append(&state, announcement("a"), at: 0)  // seq 1
        append(&state, announcement("b"), at: 1_000)  // seq 2
        append(&state, announcement("c"), at: 2_000)  // seq 3

        // At 2 000 nothing is older than 1 000 ms except seq 1 (exactly 2 000 old).
        #expect(replayed(state.start(since: StreamPosition(epoch: "e0", seq: 1), now: 2_000)) == [2, 3])
        // At 2 500, seq 2 is 1 500 ms old and dropped: a viewer who missed it cannot resume.
        #expect(isSnapshot(state.start(since: StreamPosition(epoch: "e0", seq: 1), now: 2_500)))
        #expect(replayed(state.start(since: StreamPosition(epoch: "e0", seq: 2), now: 2_500)) == [3])
        // At 10 000 everything is too old, but a viewer who has it all is still up to date.
        #expect(isSnapshot(state.start(since: StreamPosition(epoch: "e0", seq: 2), now: 10_000)))
        #expect(replayed(state.start(since: StreamPosition(epoch: "e0", seq: 3), now: 10_000)) == [])
    }

    @Test func snapshotSurvivesHistoryPruning() {
        var state = makeState(capacity: 2, maxAge: 10)
        append(&state, draft(.streamStarted, [:]), at: 0)
        for n in 1...5 { append(&state, announcement("n\(n)"), at: Int64(n) * 100) }
        #expect(state.snapshot.map(\.seq) == [1, 6])
    }
}
