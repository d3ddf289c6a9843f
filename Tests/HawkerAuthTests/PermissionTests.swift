import HawkerAuth
import HawkerProtocol
import Testing

/// PROTOCOL.md §4.3: who may read (subscribe, GET), publish (publish, POST), interact
/// (chat, questions, intents) and moderate where.
@Suite("Principal.may")
struct PermissionTests {

    enum Scope: String, CaseIterable, Sendable {
        case streamInClaim
        case streamNotInClaim
        case star
    }

    private let target = StreamID("shop-42")!

    private func principal(_ role: Role, _ scope: Scope) -> Principal {
        switch scope {
        case .streamInClaim: return Principal(subject: "u", role: role, streams: .only(["shop-41", "shop-42"]))
        case .streamNotInClaim: return Principal(subject: "u", role: role, streams: .only(["shop-41"]))
        case .star: return Principal(subject: "u", role: role, streams: .all)
        }
    }

    /// The table of §4.3, written out.
    private func expected(_ role: Role, _ permission: Permission, _ scope: Scope) -> Bool {
        switch (role, permission) {
        case (.admin, _): return true  // any stream
        case (_, .read): return scope != .streamNotInClaim  // "S"
        case (.host, .publish): return scope != .streamNotInClaim  // "S"
        case (.viewer, .publish), (.moderator, .publish), (.orderService, .publish), (.affiliate, .publish): return false
        case (.orderService, .interact): return false
        case (_, .interact): return scope != .streamNotInClaim  // signed-in viewers, hosts, moderators
        case (.host, .moderate), (.moderator, .moderate): return scope != .streamNotInClaim
        case (.viewer, .moderate), (.orderService, .moderate), (.affiliate, .moderate): return false
        }
    }

    @Test(arguments: Role.allCases, Scope.allCases)
    func interact(_ role: Role, _ scope: Scope) {
        #expect(principal(role, scope).may(.interact, on: target) == expected(role, .interact, scope))
    }

    @Test(arguments: Role.allCases, Scope.allCases)
    func moderate(_ role: Role, _ scope: Scope) {
        #expect(principal(role, scope).may(.moderate, on: target) == expected(role, .moderate, scope))
    }

    @Test(arguments: Role.allCases, Scope.allCases)
    func read(_ role: Role, _ scope: Scope) {
        #expect(principal(role, scope).may(.read, on: target) == expected(role, .read, scope))
    }

    @Test(arguments: Role.allCases, Scope.allCases)
    func publish(_ role: Role, _ scope: Scope) {
        #expect(principal(role, scope).may(.publish, on: target) == expected(role, .publish, scope))
    }

    /// The same table, spelled out, so that a mistake in `expected` cannot hide one in `may`.
    @Test func spotChecks() {
        #expect(principal(.viewer, .streamInClaim).may(.read, on: target))
        #expect(!principal(.viewer, .streamNotInClaim).may(.read, on: target))
        #expect(!principal(.viewer, .star).may(.publish, on: target))
        #expect(!principal(.moderator, .streamInClaim).may(.publish, on: target))
        #expect(!principal(.orderService, .star).may(.publish, on: target))
        #expect(principal(.orderService, .star).may(.read, on: target))
        #expect(principal(.host, .streamInClaim).may(.publish, on: target))
        #expect(!principal(.host, .streamNotInClaim).may(.publish, on: target))
        #expect(!principal(.host, .streamNotInClaim).may(.read, on: target))
        #expect(principal(.host, .star).may(.publish, on: target))
        #expect(principal(.admin, .streamNotInClaim).may(.publish, on: target))
        #expect(principal(.admin, .streamNotInClaim).may(.read, on: target))
    }

    @Test func streamMatchingIsExact() {
        let host = Principal(subject: "u", role: .host, streams: .only(["shop-42"]))
        #expect(!host.may(.read, on: StreamID("shop-4")!))
        #expect(!host.may(.read, on: StreamID("Shop-42")!))
        #expect(!host.may(.publish, on: StreamID("shop-420")!))
    }

    @Test func anonymousViewerReadsEverythingAndPublishesNothing() {
        let anonymous = Principal.anonymous(session: "k3v9q2")
        #expect(anonymous.subject == "anon:k3v9q2")
        #expect(anonymous.role == .viewer)
        #expect(anonymous.may(.read, on: target))
        #expect(!anonymous.may(.publish, on: target))
        #expect(!anonymous.may(.interact, on: target))
        #expect(!anonymous.may(.moderate, on: target))
        #expect(anonymous.isAnonymous)
        #expect(!Principal(subject: "anon:forged", role: .viewer, streams: .all).isAnonymous)
    }
}
