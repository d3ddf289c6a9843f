import NIOConcurrencyHelpers
import NIOCore

/// Hands what a channel receives to one async reader at a time, with a timeout so a
/// test or a CLI never waits forever on a silent server.
final class InboundMailbox<Element: Sendable>: Sendable {
    private struct State {
        var buffered: [Element] = []
        var finished = false
        var waiter: (id: Int, continuation: CheckedContinuation<Element?, any Error>)?
        var nextWaiterID = 0
    }

    private let state = NIOLockedValueBox(State())

    func push(_ element: Element) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Element?, any Error>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.buffered.append(element)
            return nil
        }
        waiter?.resume(returning: element)
    }

    func finish() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Element?, any Error>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume(returning: nil)
    }

    /// The next element, nil once finished and drained; throws `timeoutError` after `timeout`.
    func next(timeout: TimeAmount, on eventLoop: any EventLoop, timeoutError: any Error) async throws -> Element? {
        try await withCheckedThrowingContinuation { continuation in
            let waiterID: Int? = state.withLockedValue { state in
                if !state.buffered.isEmpty {
                    continuation.resume(returning: state.buffered.removeFirst())
                    return nil
                }
                if state.finished {
                    continuation.resume(returning: nil)
                    return nil
                }
                state.nextWaiterID += 1
                state.waiter = (state.nextWaiterID, continuation)
                return state.nextWaiterID
            }
            guard let waiterID else { return }
            eventLoop.scheduleTask(in: timeout) { [self] in
                let expired = state.withLockedValue { state -> CheckedContinuation<Element?, any Error>? in
                    guard let waiter = state.waiter, waiter.id == waiterID else { return nil }
                    state.waiter = nil
                    return waiter.continuation
                }
                expired?.resume(throwing: timeoutError)
            }
        }
    }
}
