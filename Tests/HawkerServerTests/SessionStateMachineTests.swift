import Foundation
import HawkerAuth
import HawkerClient
import HawkerProtocol
import NIOCore
import Testing

@testable import HawkerServer

/// The session protocol logic, without sockets.
@Suite struct SessionStateMachineTests {
    static let limits = SessionStateMachine.Limits(maxSubscriptions: 2, commandsPerSecond: 10, commandBurst: 10, errorBudget: 2, anonymousViewers: false)
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    private func text(_ json: String) -> ByteBuffer { ByteBuffer(string: json) }

    private func connected(_ role: Role = .viewer, streams: Set<String> = ["a", "b", "c"], limits: SessionStateMachine.Limits = Self.limits) -> SessionStateMachine {
        var machine = SessionStateMachine(sessionID: "s", limits: limits)
        _ = machine.receive(text(#"{"type":"connect","id":"1","token":"t"}"#), now: start)
        _ = machine.authenticated(id: "1", .success(Principal(subject: "u", role: role, streams: .only(streams))))
        return machine
    }

    @Test func connectWithTokenAuthenticatesThenWelcomes() {
        var machine = SessionStateMachine(sessionID: "s", limits: Self.limits)
        guard case .authenticate(let id, let token) = machine.receive(text(#"{"type":"connect","id":"1","token":"t"}"#), now: start) else {
            Issue.record("expected authenticate")
            return
        }
        #expect(id == "1" && token == "t")
        let principal = Principal(subject: "u", role: .viewer, streams: .all)
        guard case .welcome(let welcomeID, let welcomed) = machine.authenticated(id: "1", .success(principal)) else {
            Issue.record("expected welcome")
            return
        }
        #expect(welcomeID == "1" && welcomed == principal)
        #expect(machine.principal == principal)
    }

    /// Everything that came while the token was verified, answered after `welcome` in the
    /// order it was sent: subscribe, a malformed frame, ping, a second connect.
    @Test func commandsBehindConnectAreAnsweredInOrderAfterWelcome() {
        var machine = SessionStateMachine(sessionID: "s", limits: Self.limits)
        _ = machine.receive(text(#"{"type":"connect","id":"1","token":"t"}"#), now: start)
        for command in [#"{"type":"subscribe","id":"2","stream":"a"}"#, #"{"type":"ping","id":"3""#, #"{"type":"ping","id":"4"}"#, #"{"type":"connect","id":"5","token":"t"}"#] {
            guard case .none = machine.receive(text(command), now: start) else {
                Issue.record("expected \(command) to wait for welcome")
                return
            }
        }
        #expect(machine.nextWaiting(now: start) == nil, "nothing is answered before welcome")
        guard case .welcome = machine.authenticated(id: "1", .success(Principal(subject: "u", role: .viewer, streams: .all))) else {
            Issue.record("expected welcome")
            return
        }
        var answers: [String] = []
        while let action = machine.nextWaiting(now: start) {
            switch action {
            case .subscribe(let id, let stream, _, _): answers.append("subscribe \(id) \(stream)")
            case .pong(let id): answers.append("pong \(id)")
            case .send(.error(let error)): answers.append("error \(error.re ?? "-") \(error.code.rawValue)")
            default: answers.append("unexpected \(action)")
            }
        }
        #expect(answers == ["subscribe 2 a", "error - bad_request", "pong 4", "error 5 already_connected"])
        #expect(machine.subscriptions[StreamID("a")!] == .pending)
        #expect(machine.nextWaiting(now: start) == nil)
    }

    @Test func commandsPastTheWaitingBoundAreRefusedAtOnce() {
        var limits = Self.limits
        limits.waitingCommands = 2
        limits.errorBudget = 10
        var machine = SessionStateMachine(sessionID: "s", limits: limits)
        _ = machine.receive(text(#"{"type":"connect","id":"1","token":"t"}"#), now: start)
        _ = machine.receive(text(#"{"type":"ping","id":"2"}"#), now: start)
        _ = machine.receive(text(#"{"type":"ping","id":"3"}"#), now: start)
        guard case .send(.error(let refused)) = machine.receive(text(#"{"type":"ping","id":"4"}"#), now: start) else {
            Issue.record("expected the third waiting command to be refused")
            return
        }
        #expect(refused.re == "4" && refused.code == .notConnected)
        _ = machine.authenticated(id: "1", .success(Principal(subject: "u", role: .viewer, streams: .all)))
        var pongs: [String] = []
        while let action = machine.nextWaiting(now: start) {
            if case .pong(let id) = action { pongs.append(id) }
        }
        #expect(pongs == ["2", "3"])

        // The byte bound: one large command fills it.
        limits.waitingCommands = 16
        limits.waitingCommandBytes = 64
        var bytes = SessionStateMachine(sessionID: "s", limits: limits)
        _ = bytes.receive(text(#"{"type":"connect","id":"1","token":"t"}"#), now: start)
        let long = #"{"type":"ping","id":"\#(String(repeating: "x", count: 64))"}"#
        guard case .send(.error(let tooBig)) = bytes.receive(text(long), now: start) else {
            Issue.record("expected a command over the byte bound to be refused")
            return
        }
        #expect(tooBig.code == .notConnected)
    }

    @Test func waitingCommandsAreDroppedWhenTheTokenIsRefused() {
        var machine = SessionStateMachine(sessionID: "s", limits: Self.limits)
        _ = machine.receive(text(#"{"type":"connect","id":"1","token":"t"}"#), now: start)
        _ = machine.receive(text(#"{"type":"subscribe","id":"2","stream":"a"}"#), now: start)
        guard case .sendAndClose = machine.authenticated(id: "1", .failure(AuthError(code: .unauthorized, message: "bad"))) else {
            Issue.record("expected sendAndClose")
            return
        }
        #expect(machine.nextWaiting(now: start) == nil)
        #expect(machine.subscriptions.isEmpty)
    }

    @Test func failedAuthenticationRepliesAndCloses() {
        var machine = SessionStateMachine(sessionID: "s", limits: Self.limits)
        _ = machine.receive(text(#"{"type":"connect","id":"1","token":"t"}"#), now: start)
        guard case .sendAndClose(.error(let error), let code) = machine.authenticated(id: "1", .failure(AuthError(code: .tokenExpired, message: "old"))) else {
            Issue.record("expected sendAndClose")
            return
        }
        #expect(error.code == .tokenExpired && error.re == "1")
        #expect(code == .tokenExpired)
        #expect(machine.phase == .closed)
    }

    @Test func connectWithoutTokenNeedsAnonymousViewers() {
        var strict = SessionStateMachine(sessionID: "s", limits: Self.limits)
        guard case .sendAndClose(_, let code) = strict.receive(text(#"{"type":"connect","id":"1"}"#), now: start) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(code == .unauthorized)

        var limits = Self.limits
        limits.anonymousViewers = true
        var open = SessionStateMachine(sessionID: "s", limits: limits)
        guard case .welcome(_, let principal) = open.receive(text(#"{"type":"connect","id":"1"}"#), now: start) else {
            Issue.record("expected welcome")
            return
        }
        #expect(principal.role == .viewer && principal.subject == "anon:s")
    }

    @Test func subscriptionLifecycle() {
        var machine = connected()
        guard case .subscribe(_, let stream, _, let create) = machine.receive(text(#"{"type":"subscribe","id":"2","stream":"a"}"#), now: start) else {
            Issue.record("expected subscribe")
            return
        }
        #expect(stream.rawValue == "a" && create == false)
        guard case .send(.error(let twice)) = machine.receive(text(#"{"type":"subscribe","id":"3","stream":"a"}"#), now: start) else {
            Issue.record("expected already_subscribed")
            return
        }
        #expect(twice.code == .alreadySubscribed)
        #expect(machine.subscribeCompleted(stream, succeeded: true) == .activate)
        guard case .unsubscribe(_, _, let release) = machine.receive(text(#"{"type":"unsubscribe","id":"4","stream":"a"}"#), now: start) else {
            Issue.record("expected unsubscribe")
            return
        }
        #expect(release)
        #expect(machine.subscriptions.isEmpty)
    }

    @Test func unsubscribeWhilePendingReleasesWhenTheHubAnswers() {
        var machine = connected()
        _ = machine.receive(text(#"{"type":"subscribe","id":"2","stream":"a"}"#), now: start)
        guard case .unsubscribe(_, let stream, let release) = machine.receive(text(#"{"type":"unsubscribe","id":"3","stream":"a"}"#), now: start) else {
            Issue.record("expected unsubscribe")
            return
        }
        #expect(!release)
        #expect(machine.subscribeCompleted(stream, succeeded: true) == .release)
        #expect(machine.subscriptions.isEmpty)
    }

    @Test func closingReleasesActiveAndLaterPendingSubscriptions() {
        var machine = connected()
        _ = machine.receive(text(#"{"type":"subscribe","id":"2","stream":"a"}"#), now: start)
        _ = machine.receive(text(#"{"type":"subscribe","id":"3","stream":"b"}"#), now: start)
        _ = machine.subscribeCompleted(StreamID("a")!, succeeded: true)
        #expect(machine.closed() == [StreamID("a")!])
        #expect(machine.subscribeCompleted(StreamID("b")!, succeeded: true) == .release)
        #expect(machine.subscribeCompleted(StreamID("b")!, succeeded: false) == .ignore)
    }

    @Test func subscriptionLimitAndPermissions() {
        var machine = connected(.viewer, streams: ["a", "b", "c"])
        _ = machine.receive(text(#"{"type":"subscribe","id":"1","stream":"a"}"#), now: start)
        _ = machine.receive(text(#"{"type":"subscribe","id":"2","stream":"b"}"#), now: start)
        guard case .send(.error(let limit)) = machine.receive(text(#"{"type":"subscribe","id":"3","stream":"c"}"#), now: start) else {
            Issue.record("expected too_many_subscriptions")
            return
        }
        #expect(limit.code == .tooManySubscriptions)

        var host = connected(.host, streams: ["a"])
        guard case .subscribe(_, _, _, let create) = host.receive(text(#"{"type":"subscribe","id":"1","stream":"a"}"#), now: start) else {
            Issue.record("expected subscribe")
            return
        }
        #expect(create, "a host may create its stream by subscribing")
        guard case .publish = host.receive(text(#"{"type":"publish","id":"2","stream":"a","event":{"kind":"stream.ended"}}"#), now: start) else {
            Issue.record("expected publish")
            return
        }
        guard case .send(.error(let forbidden)) = host.receive(text(#"{"type":"publish","id":"3","stream":"z","event":{"kind":"stream.ended"}}"#), now: start) else {
            Issue.record("expected forbidden")
            return
        }
        #expect(forbidden.code == .forbidden && forbidden.re == "3")
    }

    @Test func rateLimitRecoversWithTimeAndFloodsClose() {
        var limits = Self.limits
        limits.commandBurst = 4
        var machine = connected(limits: limits)  // connect takes the first token
        for index in 0..<3 {
            guard case .pong = machine.receive(text(#"{"type":"ping","id":"\#(index)"}"#), now: start) else {
                Issue.record("expected pong \(index)")
                return
            }
        }
        guard case .send(.error(let limited)) = machine.receive(text(#"{"type":"ping","id":"x"}"#), now: start) else {
            Issue.record("expected rate_limited")
            return
        }
        #expect(limited.code == .rateLimited)
        #expect((limited.retryAfterMilliseconds ?? 0) > 0)
        // One token per 100 ms at 10/s.
        guard case .pong = machine.receive(text(#"{"type":"ping","id":"y"}"#), now: start + .milliseconds(150)) else {
            Issue.record("expected the bucket to refill")
            return
        }
        var closedWith: CloseCode?
        for _ in 0..<5 where closedWith == nil {
            if case .close(let code, _) = machine.receive(text(#"{"type":"ping","id":"z"}"#), now: start + .milliseconds(150)) {
                closedWith = code
            }
        }
        #expect(closedWith == .flood)
        #expect(machine.phase == .closed)
    }

    @Test func errorBudgetClosesWith4502() {
        var machine = connected()
        _ = machine.receive(text("{bad"), now: start)
        _ = machine.receive(text("{bad"), now: start)
        guard case .sendAndClose(_, let code) = machine.receive(text("{bad"), now: start) else {
            Issue.record("expected the budget to run out")
            return
        }
        #expect(code == .tooManyErrors)
    }

    @Test func connectTimeoutAndTokenExpiry() {
        var waiting = SessionStateMachine(sessionID: "s", limits: Self.limits)
        guard case .close(let code, _) = waiting.connectTimedOut() else {
            Issue.record("expected close")
            return
        }
        #expect(code == .connectTimeout)
        var machine = connected()
        guard case .none = machine.connectTimedOut() else {
            Issue.record("a connected session ignores the connect timeout")
            return
        }
        guard case .sendAndClose(_, let expired) = machine.tokenExpired() else {
            Issue.record("expected close on expiry")
            return
        }
        #expect(expired == .tokenExpired)
    }

    // MARK: - Room commands

    /// Which role may send which room command: the wire error is `forbidden` before the
    /// room sees anything.
    @Test(arguments: [
        (Role.viewer, #"{"type":"chat.send","id":"x","stream":"a","text":"hi"}"#, true),
        (.viewer, #"{"type":"intent","id":"x","stream":"a","product":"p","action":"view"}"#, true),
        (.viewer, #"{"type":"question.upvote","id":"x","stream":"a","question":"q1"}"#, true),
        (.viewer, #"{"type":"chat.send","id":"x","stream":"zz","text":"hi"}"#, false),  // not in the claim
        (.viewer, #"{"type":"moderate","id":"x","stream":"a","action":"ban_user","user":"u2"}"#, false),
        (.viewer, #"{"type":"question.answer","id":"x","stream":"a","question":"q1"}"#, false),
        (.moderator, #"{"type":"moderate","id":"x","stream":"a","action":"slow_mode","interval_ms":5000}"#, true),
        (.moderator, #"{"type":"moderate","id":"x","stream":"zz","action":"slow_mode","interval_ms":5000}"#, false),
        (.host, #"{"type":"question.answer","id":"x","stream":"a","question":"q1","answer":"yes"}"#, true),
        (.orderService, #"{"type":"chat.send","id":"x","stream":"a","text":"hi"}"#, false),
    ])
    func roomCommandPermissions(_ role: Role, _ command: String, _ allowed: Bool) {
        var machine = connected(role)
        switch machine.receive(text(command), now: start) {
        case .act(let id, let stream, _, let principal):
            #expect(allowed)
            #expect(id == "x")
            #expect(stream.rawValue == "a")
            #expect(principal.role == role)
        case .send(.error(let error)):
            #expect(!allowed)
            #expect(error.code == .forbidden)
            #expect(error.re == "x")
        default:
            Issue.record("unexpected action")
        }
    }

    @Test func anonymousViewersReadButMayNotChat() {
        var limits = Self.limits
        limits.anonymousViewers = true
        var machine = SessionStateMachine(sessionID: "s", limits: limits)
        _ = machine.receive(text(#"{"type":"connect","id":"1"}"#), now: start)
        guard case .send(.error(let error)) = machine.receive(text(#"{"type":"chat.send","id":"x","stream":"a","text":"hi"}"#), now: start) else {
            Issue.record("expected forbidden")
            return
        }
        #expect(error.code == .forbidden)
        #expect(error.message.contains("sign in"))
    }

    @Test(arguments: [
        (#"{"type":"chat.send","id":"x","stream":"a"}"#, ErrorCode.badRequest),
        (#"{"type":"chat.send","id":"x","stream":"a","text":5}"#, .badRequest),
        (#"{"type":"intent","id":"x","stream":"a","product":"p","action":"buy"}"#, .badRequest),
        (#"{"type":"intent","id":"x","stream":"a","product":"-p","action":"view"}"#, .badRequest),
        (#"{"type":"moderate","id":"x","stream":"a","action":"explode"}"#, .badRequest),
        (#"{"type":"moderate","id":"x","stream":"a","action":"timeout_user","user":"u","duration_ms":10}"#, .badRequest),
        (#"{"type":"moderate","id":"x","stream":"a","action":"banned_words","words":[""]}"#, .badRequest),
        (#"{"type":"question.answer","id":"x","stream":"a","question":"q1","answer":""}"#, .badRequest),
        (#"{"type":"chat.send","id":"x","stream":"bad stream","text":"hi"}"#, .invalidStream),
    ])
    func illFormedRoomCommands(_ command: String, _ code: ErrorCode) {
        var machine = connected(.host)
        guard case .send(.error(let error)) = machine.receive(text(command), now: start) else {
            Issue.record("expected an error")
            return
        }
        #expect(error.code == code)
        #expect(error.re == "x")
    }

    @Test func overlongChatIsInvalidMessage() {
        var machine = connected()
        let long = String(repeating: "x", count: ClientCommand.maxChatCharacters + 1)
        guard case .send(.error(let error)) = machine.receive(text(#"{"type":"chat.send","id":"x","stream":"a","text":"\#(long)"}"#), now: start) else {
            Issue.record("expected an error")
            return
        }
        #expect(error.code == .invalidMessage)
    }
}
