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
        BroadcastFrame(seq: event.seq, plain: ByteBuffer(string: "frame \(event.seq)"), deflated: nil, coalescingKey: event.stateKey, sequencedAt: .uptimeNanoseconds(0))
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

    // MARK: - History bounds

    /// "frame N" is 7 bytes for N < 10: a 20-byte bound keeps the last two events.
    @Test func historyIsBoundedByBytesAsWellAsCount() {
        var state = StreamState(stream: stream("shop-42"), epoch: "e0", historyCapacity: 100, historyMaxBytes: 20, historyMaxAgeMilliseconds: 60_000)
        for index in 1...5 { append(&state, announcement("n\(index)"), at: Int64(index)) }
        #expect(state.historyCount == 2)
        #expect(state.historyBytes == 14)
        #expect(replayed(state.start(since: StreamPosition(epoch: "e0", seq: 3), now: 10)) == [4, 5])
        #expect(isSnapshot(state.start(since: StreamPosition(epoch: "e0", seq: 2), now: 10)))
    }

    @Test func anEventLargerThanTheByteBoundIsNotKept() {
        var state = StreamState(stream: stream("shop-42"), epoch: "e0", historyCapacity: 100, historyMaxBytes: 5, historyMaxAgeMilliseconds: 60_000)
        append(&state, announcement("big"))
        #expect(state.historyCount == 0)
        #expect(state.historyBytes == 0)
        #expect(isSnapshot(state.start(since: StreamPosition(epoch: "e0", seq: 0), now: 1_000)))
    }

    /// A quiet stream's history ages out when pruned, not only at its next event.
    @Test func pruningWithoutAnEventFreesExpiredHistory() {
        var state = makeState(maxAge: 1_000)
        for index in 1...3 { append(&state, announcement("n\(index)"), at: 1_000) }
        #expect(state.historyCount == 3)
        state.pruneHistory(now: 1_500)
        #expect(state.historyCount == 3)
        state.pruneHistory(now: 2_001)
        #expect(state.historyCount == 0)
        #expect(state.historyBytes == 0)
    }
}
