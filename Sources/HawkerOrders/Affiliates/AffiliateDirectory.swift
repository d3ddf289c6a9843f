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
        /// Code names by owner.
        var byOwner: [String: Set<String>] = [:]
        /// Each owner's host-default codes, newest first: read by every checkout on the
        /// owner's streams, so kept sorted here rather than at each checkout.
        var hostDefaults: [String: [AffiliateCode]] = [:]
        /// Codes per registrar, for the per-merchant bound.
        var byRegistrar: [String: Int] = [:]
        /// The last revision read from the store: the next refresh reads after it.
        var revision: Int64 = 0
        /// Whether the store has been read once: until then nothing is credited or declined.
        var loaded = false

        mutating func apply(_ code: AffiliateCode) {
            if let known = codes[code.code], known.revision >= code.revision { return }
            forget(code.code)
            codes[code.code] = code
            byOwner[code.owner, default: []].insert(code.code)
            byRegistrar[code.registrar, default: 0] += 1
            // Revoked ones are never credited again until registered anew (applied again).
            if code.hostDefault, code.revokedAt == nil {
                var defaults = hostDefaults[code.owner] ?? []
                let index = defaults.firstIndex { Self.newer(code, than: $0) } ?? defaults.endIndex
                defaults.insert(code, at: index)
                hostDefaults[code.owner] = defaults
            }
        }

        /// A code no longer as known: replaced, or rewritten in a form this version cannot
        /// read (then it is not credited rather than credited as it was).
        mutating func forget(_ name: String) {
            guard let old = codes.removeValue(forKey: name) else { return }
            byOwner[old.owner]?.remove(name)
            hostDefaults[old.owner]?.removeAll { $0.code == name }
            byRegistrar[old.registrar, default: 1] -= 1
        }

        static func newer(_ a: AffiliateCode, than b: AffiliateCode) -> Bool {
            a.updatedAt != b.updatedAt ? a.updatedAt > b.updatedAt : a.code < b.code
        }
    }

    /// Codes one merchant may register (admins: up to `maxCodes`).
    public static let maxCodesPerMerchant = 1_000
    /// Host-default codes one owner may have, and candidates one checkout takes from them.
    public static let maxHostDefaults = 20

    public let referralWindowMilliseconds: Int64
    public let maxCodes: Int
    private let store: any DocumentStore<AffiliateCode>
    private let tickets: ReferralTicket
    private let state = Mutex(State())

    public init(store: any DocumentStore<AffiliateCode>, tickets: ReferralTicket, referralWindowMilliseconds: Int64, maxCodes: Int) {
        self.store = store
        self.tickets = tickets
        self.referralWindowMilliseconds = referralWindowMilliseconds
        self.maxCodes = maxCodes
    }

    // MARK: - Reading the store

    /// Reads what changed in the store since the last refresh. Returns how many codes, and
    /// how many rows were passed over because they did not read.
    @discardableResult
    public func refresh() async throws -> (codes: Int, undecodable: Int) {
        var read = (codes: 0, undecodable: 0)
        while true {
            let after = state.withLock { $0.revision }
            let changes = try await store.changes(after: after, limit: 1_000)
            state.withLock { state in
                for code in changes.documents { state.apply(code) }
                for name in changes.undecodableKeys { state.forget(name) }
                state.revision = max(state.revision, changes.lastRevision ?? after)
            }
            read.codes += changes.documents.count
            read.undecodable += changes.undecodable
            if changes.rows < 1_000 {
                state.withLock { $0.loaded = true }
                return read
            }
        }
    }

    /// Whether the codes have been read from the store once.
    public var isLoaded: Bool { state.withLock { $0.loaded } }

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
        let current = try await store.document(canonical)
        if let current, !registrar.may(change: current) {
            return .failure(.taken("code '\(canonical)' is registered by someone else"))
        }
        if let current, current.revokedBy == Registrar.admin.name, registrar != .admin {
            return .failure(.taken("code '\(canonical)' was revoked by an admin: only an admin may register it again"))
        }
        if current == nil {
            let (total, mine) = state.withLock { ($0.codes.count, $0.byRegistrar[registrar.name] ?? 0) }
            if total >= maxCodes { return .failure(.full(maxCodes)) }
            if registrar != .admin, mine >= Self.maxCodesPerMerchant { return .failure(.full(Self.maxCodesPerMerchant)) }
        }
        // A new host default, or one coming back (revoked ones are not counted), needs room.
        if registration.hostDefault, current.map({ !$0.hostDefault || $0.owner != registration.owner || $0.revokedAt != nil }) ?? true,
            state.withLock({ $0.hostDefaults[registration.owner]?.count ?? 0 }) >= Self.maxHostDefaults
        {
            return .failure(.invalid("'\(registration.owner)' has \(Self.maxHostDefaults) host-default codes already"))
        }
        let code = AffiliateCode(
            code: canonical, owner: registration.owner, commissionBasisPoints: registration.commissionBasisPoints, streams: registration.streams,
            merchants: merchants, hostDefault: registration.hostDefault, validFrom: registration.validFrom, validUntil: registration.validUntil,
            registrar: current?.registrar ?? registrar.name, createdAt: current?.createdAt ?? now, updatedAt: now, revokedAt: nil, revokedBy: nil)
        guard let saved = try await store.save(code, replacing: current?.revision) else {
            return .failure(.conflict("code '\(canonical)' changed meanwhile: send it again"))
        }
        state.withLock { $0.apply(saved) }
        return .success((saved, current == nil))
    }

    /// Revokes `name`: no checkout is credited with it from now on; orders that name it keep it.
    public func revoke(_ name: String, by registrar: Registrar, now: Int64) async throws -> Result<AffiliateCode, Refusal> {
        guard let canonical = AffiliateCode.canonical(name), let current = try await store.document(canonical), registrar.may(change: current) else {
            return .failure(.notFound("no code '\(name)' of yours"))
        }
        if current.revokedAt != nil { return .success(current) }
        var revoked = current
        revoked.revokedAt = now
        revoked.revokedBy = registrar.name
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
    /// Check `isLoaded` first: before the store is read every code is unknown.
    public func referral(_ name: String, now: Int64) -> Result<(code: String, ticket: String, expiresAt: Int64), AttributionDeclined.Reason> {
        guard let canonical = AffiliateCode.canonical(name), let code = state.withLock({ $0.codes[canonical] }) else { return .failure(.unknownCode) }
        guard code.isActive(at: now) else { return .failure(.codeNotActive) }
        let (expiresAt, overflow) = now.addingReportingOverflow(referralWindowMilliseconds)
        return .success((canonical, tickets.issue(code: canonical, at: now), overflow ? .max : expiresAt))
    }

    /// A ticket a returning viewer presents (`referral {ticket}`): the same ticket back,
    /// while it is within the referral window and its code active.
    public func presented(_ ticket: String, now: Int64) -> Result<(code: String, ticket: String, expiresAt: Int64), AttributionDeclined.Reason> {
        guard let (name, issuedAt) = tickets.verify(ticket, now: now) else { return .failure(.invalidReferral) }
        let (expiresAt, overflow) = issuedAt.addingReportingOverflow(referralWindowMilliseconds)
        guard overflow || expiresAt > now else { return .failure(.referralExpired) }
        guard let code = state.withLock({ $0.codes[name] }) else { return .failure(.unknownCode) }
        guard code.isActive(at: now) else { return .failure(.codeNotActive) }
        return .success((name, ticket, overflow ? .max : expiresAt))
    }

    /// Whose funnel a viewer referred by `name` counts in, in `stream`: the code's owner,
    /// while the code is active and applies to the stream.
    public func funnelOwner(of name: String, stream: StreamID, now: Int64) -> String? {
        state.withLock { state in
            guard let code = state.codes[name], code.isActive(at: now), code.applies(to: stream) else { return nil }
            return code.owner
        }
    }

    // MARK: - AttributionPolicy

    public func candidates(for claim: CheckoutRequest.Attribution, stream: StreamID, host: String?, now: Int64) -> AttributionCandidates {
        guard claim.code != nil || claim.referral != nil || host != nil else { return .empty }
        // The ticket's signature is checked before taking the lock.
        let ticket = claim.referral.map { tickets.verify($0, now: now) }
        return state.withLock { state in
            // Until the store is read, nothing is known: nothing credited, nothing declined.
            guard state.loaded else { return .empty }
            var result = AttributionCandidates()
            var taken: Set<String> = []
            func consider(_ name: String, as source: AttributionCredit.Source) -> AttributionDeclined? {
                guard let canonical = AffiliateCode.canonical(name), let code = state.codes[canonical] else {
                    return AttributionDeclined(code: name, reason: .unknownCode)
                }
                guard code.isActive(at: now) else { return AttributionDeclined(code: canonical, reason: .codeNotActive) }
                guard code.applies(to: stream) else { return AttributionDeclined(code: canonical, reason: .notForStream) }
                if taken.insert(canonical).inserted { result.credits.append(code.credit(source)) }
                return nil
            }
            if let code = claim.code { result.declinedCode = consider(code, as: .code) }
            switch ticket {
            case nil:
                break
            case .some(nil):
                result.declinedReferral = AttributionDeclined(code: nil, reason: .invalidReferral)
            case .some(.some(let (code, issuedAt))):
                result.declinedReferral =
                    now - issuedAt > referralWindowMilliseconds
                    ? AttributionDeclined(code: code, reason: .referralExpired) : consider(code, as: .referral)
            }
            // The host's own codes for this stream: those naming it before those for every
            // stream, newest first; past one for every merchant, later ones credit nothing.
            guard let host, let defaults = state.hostDefaults[host] else { return result }
            let usable = defaults.lazy.filter { $0.isActive(at: now) && $0.applies(to: stream) }.prefix(Self.maxHostDefaults)
            for code in usable.filter({ $0.streams != nil }) + usable.filter({ $0.streams == nil }) where taken.insert(code.code).inserted {
                result.credits.append(code.credit(.host))
                if code.merchants == nil { break }
            }
            return result
        }
    }
}
