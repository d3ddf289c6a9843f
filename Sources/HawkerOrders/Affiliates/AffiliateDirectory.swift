import HawkerCommerce
import HawkerProtocol
import Synchronization

/// Every registered code, in memory: what checkouts are credited with. The store is the
/// truth; this node reads its changes at start and then every `refresh` (a cluster's other
/// nodes register codes too), and applies its own registrations at once.
///
/// As the rooms' `AttributionPolicy` it answers on the streams' loops, from memory: the
/// buyer's entered code, their referral (a ticket within the referral window), then the
/// stream host's default codes. Nothing a client sends is credited unless registered,
/// active at the checkout's time, and meant for that stream.
public final class AffiliateDirectory: AttributionPolicy, Sendable {
    /// Who registers or revokes a code.
    public enum Registrar: Sendable, Hashable {
        case admin
        /// A merchant's order service: its own products only.
        case merchant(String)

        /// As stored in `AffiliateCode.registrar`.
        public var name: String {
            switch self {
            case .admin: "admin"
            case .merchant(let merchant): "merchant:\(merchant)"
            }
        }

        func may(change code: AffiliateCode) -> Bool {
            self == .admin || code.registrar == name
        }
    }

    /// Why a registration or revocation was refused.
    public enum Refusal: Error, Sendable, Hashable {
        case invalid(String)
        /// Registered by another merchant.
        case taken(String)
        /// Changed by somebody else between the read and the write: try again.
        case conflict(String)
        case notFound(String)
        /// As many codes as `affiliates.max_codes`.
        case full(Int)
    }

    private struct State {
        var codes: [String: AffiliateCode] = [:]
        /// Code names by owner, for the hosts' defaults.
        var byOwner: [String: Set<String>] = [:]
        /// The last revision read from the store: the next refresh reads after it.
        var revision: Int64 = 0

        mutating func apply(_ code: AffiliateCode) {
            if let known = codes[code.code], known.revision >= code.revision { return }
            if let old = codes[code.code], old.owner != code.owner { byOwner[old.owner]?.remove(code.code) }
            codes[code.code] = code
            byOwner[code.owner, default: []].insert(code.code)
        }
    }

    public let referralWindowMilliseconds: Int64
    public let maxCodes: Int
    private let store: any AffiliateCodeStore
    private let tickets: ReferralTicket
    private let state = Mutex(State())

    public init(store: any AffiliateCodeStore, tickets: ReferralTicket, referralWindowMilliseconds: Int64, maxCodes: Int) {
        self.store = store
        self.tickets = tickets
        self.referralWindowMilliseconds = referralWindowMilliseconds
        self.maxCodes = maxCodes
    }

    // MARK: - Reading the store

    /// Reads what changed in the store since the last refresh. Returns how many codes.
    @discardableResult
    public func refresh() async throws -> Int {
        var read = 0
        while true {
            let after = state.withLock { $0.revision }
            let changes = try await store.changes(after: after, limit: 1_000)
            state.withLock { state in
                for code in changes { state.apply(code) }
                state.revision = max(state.revision, changes.last?.revision ?? after)
            }
            read += changes.count
            if changes.count < 1_000 { return read }
        }
    }

    public var count: Int { state.withLock { $0.codes.count } }

    public func code(_ name: String) -> AffiliateCode? {
        AffiliateCode.canonical(name).flatMap { name in state.withLock { $0.codes[name] } }
    }

    /// A page of codes by name after `after`: of `owner` if given, registered by `registrar`
    /// unless an admin asks.
    public func codes(owner: String?, registrar: Registrar, after: String?, limit: Int) -> [AffiliateCode] {
        let all = state.withLock { state in
            owner.map { owner in (state.byOwner[owner] ?? []).compactMap { state.codes[$0] } } ?? Array(state.codes.values)
        }
        return
            all
            .filter { registrar == .admin || $0.registrar == registrar.name }
            .filter { code in after.map { code.code > $0 } ?? true }
            .sorted { $0.code < $1.code }
            .prefix(max(1, limit))
            .map { $0 }
    }

    // MARK: - Registering

    /// Registers `name` (new, or replacing the registrar's own code of that name, which
    /// revives it if it was revoked). A merchant's code applies to its own products only.
    public func register(
        _ name: String, _ registration: AffiliateCodeRegistration, by registrar: Registrar, now: Int64
    ) async throws -> Result<(code: AffiliateCode, created: Bool), Refusal> {
        guard let canonical = AffiliateCode.canonical(name) else {
            return .failure(.invalid("a code is 3-32 of [A-Za-z0-9_-] (case does not matter)"))
        }
        var merchants = registration.merchants
        if case .merchant(let merchant) = registrar {
            guard merchants == nil || merchants == [merchant] else {
                return .failure(.invalid("a merchant registers codes for its own products: 'merchants' may only be [\"\(merchant)\"]"))
            }
            merchants = [merchant]
        }
        let current = try await store.code(canonical)
        if let current, !registrar.may(change: current) {
            return .failure(.taken("code '\(canonical)' is registered by someone else"))
        }
        if current == nil, count >= maxCodes { return .failure(.full(maxCodes)) }
        let code = AffiliateCode(
            code: canonical, owner: registration.owner, commissionBasisPoints: registration.commissionBasisPoints, streams: registration.streams,
            merchants: merchants, hostDefault: registration.hostDefault, validFrom: registration.validFrom, validUntil: registration.validUntil,
            registrar: current?.registrar ?? registrar.name, createdAt: current?.createdAt ?? now, updatedAt: now)
        guard let saved = try await store.save(code, replacing: current?.revision) else {
            return .failure(.conflict("code '\(canonical)' changed meanwhile: send it again"))
        }
        state.withLock { $0.apply(saved) }
        return .success((saved, current == nil))
    }

    /// Revokes `name`: no checkout is credited with it from now on; orders that name it keep it.
    public func revoke(_ name: String, by registrar: Registrar, now: Int64) async throws -> Result<AffiliateCode, Refusal> {
        guard let canonical = AffiliateCode.canonical(name), let current = try await store.code(canonical), registrar.may(change: current) else {
            return .failure(.notFound("no code '\(name)' of yours"))
        }
        if current.revokedAt != nil { return .success(current) }
        var revoked = current
        revoked.revokedAt = now
        revoked.updatedAt = now
        guard let saved = try await store.save(revoked, replacing: current.revision) else {
            return .failure(.conflict("code '\(canonical)' changed meanwhile: send it again"))
        }
        state.withLock { $0.apply(saved) }
        return .success(saved)
    }

    // MARK: - Referrals

    /// A ticket for a viewer who arrived through `name`'s link (`referral`): valid for the
    /// referral window from `now`.
    public func referral(_ name: String, now: Int64) -> Result<(code: String, ticket: String, expiresAt: Int64), AttributionDeclined.Reason> {
        guard let canonical = AffiliateCode.canonical(name), let code = state.withLock({ $0.codes[canonical] }) else { return .failure(.unknownCode) }
        guard code.isActive(at: now) else { return .failure(.codeNotActive) }
        let (expiresAt, overflow) = now.addingReportingOverflow(referralWindowMilliseconds)
        return .success((canonical, tickets.issue(code: canonical, at: now), overflow ? .max : expiresAt))
    }

    // MARK: - AttributionPolicy

    public func candidates(for claim: CheckoutRequest.Attribution, stream: StreamID, host: String?, now: Int64) -> AttributionCandidates {
        guard claim.code != nil || claim.referral != nil || host != nil else { return .none }
        var result = AttributionCandidates()
        func decline(_ code: String?, _ reason: AttributionDeclined.Reason) {
            if result.declined == nil { result.declined = AttributionDeclined(code: code, reason: reason) }
        }
        state.withLock { state in
            func consider(_ name: String, as source: AttributionCredit.Source) {
                guard let canonical = AffiliateCode.canonical(name), let code = state.codes[canonical] else { return decline(name, .unknownCode) }
                guard code.isActive(at: now) else { return decline(canonical, .codeNotActive) }
                guard code.applies(to: stream) else { return decline(canonical, .notForStream) }
                if !result.credits.contains(where: { $0.code == canonical }) { result.credits.append(code.credit(source)) }
            }
            if let code = claim.code { consider(code, as: .code) }
            if let referral = claim.referral {
                if let (code, issuedAt) = tickets.verify(referral, now: now) {
                    if now - issuedAt > referralWindowMilliseconds { decline(code, .referralExpired) } else { consider(code, as: .referral) }
                } else {
                    decline(nil, .invalidReferral)
                }
            }
            // The host's own codes for this stream: one naming it before one for every stream.
            if let host {
                let defaults = (state.byOwner[host] ?? []).compactMap { state.codes[$0] }
                    .filter { $0.hostDefault && $0.isActive(at: now) && $0.applies(to: stream) }
                    .sorted { a, b in
                        if (a.streams != nil) != (b.streams != nil) { return a.streams != nil }
                        return a.updatedAt != b.updatedAt ? a.updatedAt > b.updatedAt : a.code < b.code
                    }
                for code in defaults where !result.credits.contains(where: { $0.code == code.code }) { result.credits.append(code.credit(.host)) }
            }
        }
        return result
    }
}
