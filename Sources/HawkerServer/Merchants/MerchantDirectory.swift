import HawkerCommerce
import HawkerOrders
import HawkerProtocol
import Synchronization

/// Every merchant's settings in force, in memory: the configuration's `merchants.<id>.*`
/// overlaid with the profiles registered at run time. The store is the truth; this node
/// reads its changes at start and then every refresh (other nodes register merchants too),
/// and applies its own saves at once.
///
/// As the rooms' `MerchantTermsPolicy` it answers on the streams' loops, from memory.
final class MerchantDirectory: MerchantTermsPolicy, Sendable {
    enum Refusal: Error, Sendable, Hashable {
        /// Changed by somebody else between the read and the write: try again.
        case conflict(String)
        case notFound(String)
        /// As many registered merchants as `MerchantProfile.maxMerchants`.
        case full(Int)
    }

    private struct State {
        var profiles: [String: MerchantProfile] = [:]
        var active = 0
        /// The last revision read from the store: the next refresh reads after it.
        var revision: Int64 = 0
        /// Profiles applied so far, whoever saved them: what `MerchantTermsPolicy.revision` says.
        var applied: Int64 = 0
        /// Whether the store has been read once: until then checkouts and quotes wait.
        var loaded = false

        /// A profile rewritten in a form this version cannot read: no longer in force here
        /// (its configuration, if any, is) rather than in force as it was.
        mutating func forget(_ id: String) -> Bool {
            guard let old = profiles.removeValue(forKey: id) else { return false }
            if old.isActive { active -= 1 }
            applied += 1
            return true
        }

        /// Returns whether it changed what is in force.
        mutating func apply(_ profile: MerchantProfile) -> Bool {
            if let known = profiles[profile.id], known.revision >= profile.revision { return false }
            if profiles[profile.id]?.isActive == true { active -= 1 }
            if profile.isActive { active += 1 }
            profiles[profile.id] = profile
            applied += 1
            return true
        }
    }

    let configured: [String: MerchantBackendConfiguration]
    private let store: any DocumentStore<MerchantProfile>
    private let state = Mutex(State())
    private let maxMerchants: Int

    init(store: any DocumentStore<MerchantProfile>, configured: [String: MerchantBackendConfiguration], maxMerchants: Int = MerchantProfile.maxMerchants) {
        self.store = store
        self.configured = configured
        self.maxMerchants = maxMerchants
    }

    // MARK: - In force

    func terms(for merchant: String) -> MerchantTerms? {
        state.withLock { state in
            guard let profile = state.profiles[merchant], profile.isActive else { return nil }
            return profile.terms
        }
    }

    var revision: Int64 { state.withLock { $0.applied } }

    func supplier(of product: String, merchant: String) -> Supplier? {
        state.withLock { state in
            guard let profile = state.profiles[merchant], profile.isActive else { return nil }
            return profile.suppliers[product]
        }
    }

    /// Whether the store has been read once (a shared store may not answer at start).
    var isLoaded: Bool { state.withLock { $0.loaded } }

    /// The backend in force: the registered profile's, else the configuration's, else nil
    /// (the default backend).
    func backend(of merchant: String) -> MerchantBackendConfiguration? {
        let registered = state.withLock { state in state.profiles[merchant].flatMap { $0.isActive ? $0.backend : nil } }
        return registered ?? configured[merchant]
    }

    func profile(_ id: String) -> MerchantProfile? {
        state.withLock { $0.profiles[id] }
    }

    /// Registered merchants by id after `after`, removed ones included.
    func profiles(after: String?, limit: Int) -> [MerchantProfile] {
        state.withLock { state in
            Array(state.profiles.values.filter { after == nil || $0.id > after! }.sorted { $0.id < $1.id }.prefix(max(0, limit)))
        }
    }

    // MARK: - Reading the store

    /// Reads what was saved since the last read: returns the merchants whose settings
    /// changed, and how many rows could not be read (passed over).
    func refresh() async throws -> (changed: [String], undecodable: Int) {
        var changed: Set<String> = []
        var undecodable = 0
        while true {
            let after = state.withLock { $0.revision }
            let page = try await store.changes(after: after, limit: 500)
            undecodable += page.undecodable
            state.withLock { state in
                for profile in page.documents where state.apply(profile) { changed.insert(profile.id) }
                for id in page.undecodableKeys where state.forget(id) { changed.insert(id) }
                if let last = page.lastRevision { state.revision = max(state.revision, last) }
            }
            if page.rows < 500 { break }
        }
        state.withLock { $0.loaded = true }
        return (changed.sorted(), undecodable)
    }

    // MARK: - Saving

    /// Registers or replaces `id`'s profile. Returns it as stored and whether it is new
    /// (no active profile before).
    func register(_ id: String, _ registration: MerchantRegistration, now: Int64) async throws -> Result<(MerchantProfile, created: Bool), Refusal> {
        // A row that does not read (a newer version's) is replaced by revision all the same.
        let current = try await store.stored(id)
        let created = current?.document?.isActive != true
        if created, state.withLock({ $0.active }) >= maxMerchants { return .failure(.full(maxMerchants)) }
        let profile = MerchantProfile(
            id: id, name: registration.name, backend: registration.backend, terms: registration.terms, suppliers: registration.suppliers, updatedAt: now)
        guard let saved = try await store.save(profile, replacing: current?.revision) else {
            return .failure(.conflict("merchant '\(id)' was changed meanwhile; send it again"))
        }
        _ = state.withLock { $0.apply(saved) }
        return .success((saved, created))
    }

    /// Removes `id`'s registration: its configuration (if any) is in force again.
    func remove(_ id: String, now: Int64) async throws -> Result<MerchantProfile, Refusal> {
        guard var profile = try await store.document(id), profile.isActive else { return .failure(.notFound("no merchant '\(id)' is registered")) }
        // (A row that does not read is not in force here either: nothing to remove.)
        let revision = profile.revision
        // The backend's secret and URL go with the registration.
        profile.backend = MerchantBackendConfiguration(kind: nil)
        profile.removedAt = now
        profile.updatedAt = now
        guard let saved = try await store.save(profile, replacing: revision) else {
            return .failure(.conflict("merchant '\(id)' was changed meanwhile; send it again"))
        }
        _ = state.withLock { $0.apply(saved) }
        return .success(saved)
    }
}
